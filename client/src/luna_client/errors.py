"""LUNA error answers as typed exceptions.

Every error the service answers has the body ``{"error_code", "desc", "detail", "link"}``.
:func:`error_from_response` picks the exception class from the LUNA code where one code means
something a caller handles apart (an estimator not licensed here, a full queue), else from
the HTTP status.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import msgpack

__all__ = [
    "BadInput",
    "Conflict",
    "EstimatorUnavailable",
    "Forbidden",
    "LunaError",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "Overloaded",
    "PayloadTooLarge",
    "RateLimited",
    "ServerError",
    "ServiceUnavailable",
    "Unauthorized",
    "error_from_response",
]


class LunaError(Exception):
    """An error answer of the service.

    ``code``, ``desc``, ``detail`` and ``link`` are the LUNA body's (``code`` is None when the
    answer carried no LUNA body, e.g. a proxy's plain-text page); ``status`` is the HTTP
    status, ``request_id`` the answer's ``Luna-Request-Id`` and ``body`` the decoded body.
    """

    def __init__(
        self,
        status: int,
        code: int | None,
        desc: str = "",
        detail: str = "",
        *,
        link: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.code = code
        self.desc = desc
        self.detail = detail
        self.link = link
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = body
        super().__init__(f"{status} [{code}] {desc}: {detail}")


class BadInput(LunaError):
    """400: the query, headers or body were refused (LUNA's 12xxx, 18xxx, 11030, ...)."""


class PayloadTooLarge(BadInput):
    """413: the body is over the service's limit."""


class NotAcceptable(BadInput):
    """406: the Accept header admits no type the route answers with (12023)."""


class Unauthorized(LunaError):
    """401: missing or wrong credentials (11065)."""


class Forbidden(LunaError):
    """403: no account id (11036), account restrictions (11059, 11063, 11069), ..."""


class EstimatorUnavailable(Forbidden):
    """403 with LUNA's 11055: the request needs an estimator this deployment lacks."""


class NotFound(LunaError):
    """404: the object (handler, verifier, face, event, ...) or page does not exist."""


class MethodNotAllowed(LunaError):
    """405: the route exists but not with this method."""


class Conflict(LunaError):
    """409: the login or id is taken."""


class Overloaded(LunaError):
    """The service refused the request before working on it; retry after ``retry_after``."""


class RateLimited(Overloaded):
    """429: the account is over its request rate (90001)."""


class ServiceUnavailable(Overloaded):
    """503: the replica is full (LUNA's 2) or its database is unreachable (11)."""


class ServerError(LunaError):
    """5xx other than 503: the request failed inside the service."""


# LUNA codes that mean the same thing whatever the status.
_BY_CODE: dict[int, type[LunaError]] = {11055: EstimatorUnavailable, 90001: RateLimited}
_BY_STATUS: dict[int, type[LunaError]] = {
    400: BadInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    406: NotAcceptable,
    409: Conflict,
    413: PayloadTooLarge,
    415: BadInput,
    429: RateLimited,
    503: ServiceUnavailable,
}


def error_class(status: int, code: int | None) -> type[LunaError]:
    """The exception class for an answer with ``status`` and LUNA ``code``."""
    if code is not None and code in _BY_CODE:
        return _BY_CODE[code]
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        return BadInput
    return LunaError


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The answer's ``Retry-After`` in seconds (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _decode_body(response: httpx.Response) -> Any:
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media == "application/msgpack":
            return msgpack.unpackb(response.content, raw=False)
        return json.loads(response.content)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        return response.text


def error_from_response(response: httpx.Response) -> LunaError:
    """The exception for an error answer (status >= 400)."""
    body = _decode_body(response)
    fields = body if isinstance(body, dict) else {}
    code = fields.get("error_code")
    code = code if isinstance(code, int) else None
    desc = str(fields.get("desc", "")) if code is not None else response.reason_phrase
    detail = str(fields.get("detail", "")) if code is not None else str(body)[:500]
    return error_class(response.status_code, code)(
        response.status_code,
        code,
        desc,
        detail,
        link=fields.get("link"),
        request_id=response.headers.get("luna-request-id"),
        retry_after=retry_after_seconds(response),
        body=body,
    )
