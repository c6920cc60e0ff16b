"""Retries: 503 and 429 with exponential backoff and Retry-After, only where repeating is
safe (an idempotent method, or a refusal made before any work)."""

from __future__ import annotations

import httpx
import luna_client
import pytest
from luna_client import RetryPolicy

from tests.client.helpers import ACCOUNT, HANDLER_ID, Script, answer, luna_error

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.04, jitter=0.0)
EVENTS = {"events": [], "images": [], "filtered_detections": {"face_detections": []}}
JPEG = b"\xff\xd8\xff\xe0" + b"0" * 32


def client(script: Script, retry: RetryPolicy = FAST) -> tuple[luna_client.LunaClient, list[float]]:
    sleeps: list[float] = []
    luna = luna_client.LunaClient(
        "http://luna", account_id=ACCOUNT, transport=script.sync(), retry=retry, sleep=sleeps.append
    )
    return luna, sleeps


def test_a_full_queue_is_retried_even_for_a_post_that_stores():
    script = Script([luna_error(503, 2, "Queue request timeout", "busy", **{"Retry-After": "1"}), answer(EVENTS, 201)])
    luna, sleeps = client(script)
    result = luna.emit_events(HANDLER_ID, JPEG)
    assert result.events == []
    assert len(script.requests) == 2
    assert sleeps == [1.0]  # Retry-After, longer than the backoff, is what was waited
    # The same body was sent again.
    assert script.requests[0].content == script.requests[1].content == JPEG


def test_rate_limit_is_retried_with_growing_backoff():
    script = Script([luna_error(429, 90001), luna_error(429, 90001), luna_error(429, 90001), answer({"handlers_count": 3})])
    luna, sleeps = client(script)
    assert luna.count_handlers() == 3
    assert sleeps == pytest.approx([0.01, 0.02, 0.04])


def test_backoff_is_capped():
    policy = RetryPolicy(backoff=1.0, max_backoff=3.0, jitter=0.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_jitter_stays_within_its_share():
    policy = RetryPolicy(backoff=1.0, jitter=0.5)
    assert all(1.0 <= policy.delay(1) <= 1.5 for _ in range(50))


def test_gives_up_after_the_configured_tries():
    script = Script([luna_error(503, 2)])
    luna, sleeps = client(script, RetryPolicy(attempts=3, backoff=0.0, jitter=0.0))
    with pytest.raises(luna_client.ServiceUnavailable) as raised:
        luna.detect(JPEG)
    assert raised.value.code == 2
    assert len(script.requests) == 3 and len(sleeps) == 2


def test_a_database_outage_is_retried_for_a_get_but_not_for_a_post():
    outage = luna_error(503, 11, "Internal server error", "Server connection error: OSError", **{"Retry-After": "0"})
    script = Script([outage, answer([])])
    luna, _ = client(script)
    assert luna.list_handlers() == []
    assert len(script.requests) == 2

    script = Script([outage, answer({"handler_id": HANDLER_ID, "url": "/1/handlers/x"}, 201)])
    luna, _ = client(script)
    with pytest.raises(luna_client.ServiceUnavailable):
        luna.create_handler({})  # the service may have stored it: not sent twice
    assert len(script.requests) == 1


def test_a_retry_after_beyond_the_limit_is_raised_at_once():
    script = Script([luna_error(503, 2, **{"Retry-After": "600"}), answer({"handlers_count": 1})])
    luna, sleeps = client(script, RetryPolicy(max_retry_after=30))
    with pytest.raises(luna_client.Overloaded) as raised:
        luna.count_handlers()
    assert raised.value.retry_after == 600.0
    assert sleeps == [] and len(script.requests) == 1


def test_other_errors_are_not_retried():
    for error in (luna_error(500, 1), luna_error(400, 12012), luna_error(403, 11055)):
        script = Script([error, answer({"handlers_count": 1})])
        luna, _ = client(script)
        with pytest.raises(luna_client.LunaError):
            luna.count_handlers()
        assert len(script.requests) == 1


def test_retries_can_be_turned_off():
    script = Script([luna_error(503, 2), answer({"handlers_count": 1})])
    luna, _ = client(script, luna_client.NO_RETRY)
    with pytest.raises(luna_client.ServiceUnavailable):
        luna.count_handlers()


def test_a_refused_connection_is_retried_a_dropped_post_is_not():
    refused = httpx.ConnectError("connection refused")
    script = Script([refused, answer({"handlers_count": 2})])
    luna, _ = client(script)
    assert luna.count_handlers() == 2

    dropped = httpx.ReadError("connection reset")
    script = Script([dropped, answer({"handlers_count": 2})])
    luna, _ = client(script)
    assert luna.count_handlers() == 2  # GET: safe to repeat
    script = Script([dropped, answer(EVENTS, 201)])
    luna, _ = client(script)
    with pytest.raises(httpx.ReadError):
        luna.emit_events(HANDLER_ID, JPEG)  # may have been stored
    assert len(script.requests) == 1


async def test_the_async_client_retries_the_same_way():
    script = Script([luna_error(503, 2, **{"Retry-After": "0.5"}), luna_error(429, 90001), answer({"verifiers_count": 4})])
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with luna_client.AsyncLunaClient(
        "http://luna", account_id=ACCOUNT, transport=script.async_(), retry=FAST, sleep=sleep
    ) as luna:
        assert await luna.count_verifiers() == 4
    assert sleeps == pytest.approx([0.5, 0.02])
