"""LUNA error answers become typed exceptions carrying the body's code, desc and detail."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import luna_client
import pytest
from luna_client import errors

from tests.client.helpers import ACCOUNT, HANDLER_ID, Script, luna_error


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, 12012, luna_client.BadInput),
        (401, 11065, luna_client.Unauthorized),
        (403, 11036, luna_client.Forbidden),
        (403, 11055, luna_client.EstimatorUnavailable),
        (404, 11033, luna_client.NotFound),
        (405, 12021, luna_client.MethodNotAllowed),
        (406, 12023, luna_client.NotAcceptable),
        (409, 12031, luna_client.Conflict),
        (413, 12031, luna_client.PayloadTooLarge),
        (415, 12024, luna_client.BadInput),
        (429, 90001, luna_client.RateLimited),
        (503, 2, luna_client.ServiceUnavailable),
        (503, 11, luna_client.ServiceUnavailable),
        (500, 1, luna_client.ServerError),
        (502, 38001, luna_client.ServerError),
        (418, 12031, luna_client.BadInput),
    ],
)
def test_error_classes_follow_status_and_code(status, code, kind):
    error = errors.error_from_response(luna_error(status, code, "Desc", "Some detail"))
    assert type(error) is kind
    assert isinstance(error, luna_client.LunaError)
    assert (error.status, error.code, error.desc, error.detail) == (status, code, "Desc", "Some detail")
    assert error.link == f"https://x/{code}"
    assert error.request_id.startswith("1700000000,")


def test_overload_family():
    assert issubclass(luna_client.RateLimited, luna_client.Overloaded)
    assert issubclass(luna_client.ServiceUnavailable, luna_client.Overloaded)
    assert issubclass(luna_client.EstimatorUnavailable, luna_client.Forbidden)


def test_a_plain_text_error_page_is_still_typed():
    response = httpx.Response(503, text="upstream connect error", headers={"Retry-After": "3"})
    error = errors.error_from_response(response)
    assert type(error) is luna_client.ServiceUnavailable
    assert error.code is None and error.retry_after == 3.0
    assert "upstream connect error" in error.detail


def test_retry_after_as_seconds_or_http_date():
    assert errors.retry_after_seconds(httpx.Response(503, headers={"Retry-After": "2"})) == 2.0
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    dated = httpx.Response(503, headers={"Retry-After": format_datetime(later, usegmt=True)})
    assert 25 < errors.retry_after_seconds(dated) <= 30
    assert errors.retry_after_seconds(httpx.Response(503, headers={"Retry-After": "soon"})) is None
    assert errors.retry_after_seconds(httpx.Response(503)) is None


def test_client_raises_not_found_with_the_body():
    script = Script([luna_error(404, 11033, "Object not found", f"Handler with ID '{HANDLER_ID}' not found")])
    luna = luna_client.LunaClient("http://luna", account_id=ACCOUNT, transport=script.sync())
    with luna, pytest.raises(luna_client.NotFound) as raised:
        luna.get_handler(HANDLER_ID)
    assert raised.value.code == 11033 and HANDLER_ID in raised.value.detail
    assert len(script.requests) == 1  # a 404 is not retried


def test_head_answers_false_on_404_and_raises_on_other_errors():
    script = Script([httpx.Response(404), httpx.Response(200), luna_error(403, 11036)])
    with luna_client.LunaClient("http://luna", transport=script.sync()) as luna:
        assert luna.handler_exists(HANDLER_ID) is False
        assert luna.verifier_exists(HANDLER_ID) is True
        with pytest.raises(luna_client.Forbidden):
            luna.handler_exists(HANDLER_ID)
    assert [r.method for r in script.requests] == ["HEAD", "HEAD", "HEAD"]
