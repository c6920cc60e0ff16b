"""LUNA error codes and the exception that carries one to the client.

Every error body is ``{"error_code", "desc", "detail", "link"}``. Codes, descriptions and
detail templates follow LUNA PLATFORM 5's published error list; ``link`` points at the page
describing the code. Codes marked "ours" cover cases LUNA documents no code for.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

ERROR_DOCS = "https://docs.visionlabs.ai/info/luna/troubleshooting/errors-description/code-{code}"


@dataclass(frozen=True)
class ErrorKind:
    """One LUNA error: code, description, detail template and the HTTP status it answers with."""

    code: int
    desc: str
    detail: str
    status: int = 400

    def body(self, *args: Any) -> dict[str, Any]:
        """The JSON error body, with the detail template filled from ``args``."""
        return {
            "error_code": self.code,
            "desc": self.desc,
            "detail": self.detail.format(*args) if args else self.detail,
            "link": ERROR_DOCS.format(code=self.code),
        }


BAD_INPUT = "Bad/incomplete input data"

SUCCESS = ErrorKind(0, "Success", "Success", 200)
INTERNAL = ErrorKind(1, "Internal server error", "Unknown error", 500)
REQUEST_NOT_JSON = ErrorKind(12002, BAD_INPUT, "Request does not contain json")
EMPTY_JSON = ErrorKind(12005, BAD_INPUT, "Request contain empty json")
BAD_QUERY = ErrorKind(12012, BAD_INPUT, "Bad query parameters '{}'")
PAGE_NOT_FOUND = ErrorKind(12013, "Resource not found", "Page not found", 404)
REQUIRED_PARAMS = ErrorKind(12014, BAD_INPUT, "Required parameters '{}' not found")
BAD_CONTENT_TYPE = ErrorKind(12017, BAD_INPUT, "Bad content type")
METHOD_NOT_ALLOWED = ErrorKind(12021, "Method not allowed", "Method not allowed", 405)
BAD_JSON = ErrorKind(12022, BAD_INPUT, "Failed to validate input json. Path: '{}', message: '{}'")
UNACCEPTABLE = ErrorKind(12023, BAD_INPUT, "Content type is unacceptable allowed types: '{}'", 406)
UNSUPPORTED_MEDIA_TYPE = ErrorKind(12024, BAD_INPUT, "Unsupported media type", 415)
CONTENT_TYPE_MISMATCH = ErrorKind(
    12025, BAD_INPUT, "Specified content type does not match data type"
)
NO_DATA = ErrorKind(12030, BAD_INPUT, "Request does not contain data")
BAD_INPUT_GENERIC = ErrorKind(12031, BAD_INPUT, "{}")
MULTIPART_BAD_CONTENT_TYPE = ErrorKind(
    12041, BAD_INPUT, "Multipart with name '{}' has bad Content-Type"
)
BAD_BASE64 = ErrorKind(18001, BAD_INPUT, "Failed convert data from base64 to bytes")
BAD_IMAGE = ErrorKind(18002, BAD_INPUT, "Failed convert bytes to {}")
BAD_WARP_SIZE = ErrorKind(11030, BAD_INPUT, "Image size is not equal to 250x250")
BAD_BODY_WARP_SIZE = ErrorKind(11030, BAD_INPUT, "Image size is not equal to 128x256")
ACCOUNT_ID_REQUIRED = ErrorKind(
    11036,
    "Forbidden",
    "Luna-Account-Id header is required for requests which change the state of system",
    403,
)
ACCOUNT_ID_BAD = ErrorKind(
    11037,
    BAD_INPUT,
    "Luna-Account-Id header is not UUID format: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
)
MULTIPLE_FACES = ErrorKind(
    11038, "Multiple faces found", "Multiple faces found in image {}, detect {}"
)
ESTIMATOR_DISABLED = ErrorKind(11055, "Forbidden", "License problem: '{}'", 403)
# ours: LUNA documents no code for these limits; they share the generic bad-input code.
TOO_MANY_IMAGES = ErrorKind(12031, BAD_INPUT, "Too many images in request: {}, limit is {}")
IMAGE_TOO_LARGE = ErrorKind(12031, BAD_INPUT, "Image is too large: {}")
BODY_TOO_LARGE = ErrorKind(12031, BAD_INPUT, "Request body is too large: more than {} bytes", 413)
HEALTH_CHECK = ErrorKind(38001, "Health check error", "{}", 502)
# Objects. Handler: as the API document's sample; verifier, face, image: LUNA's error list.
OBJECT_NOT_FOUND = "Object not found"
HANDLER_NOT_FOUND = ErrorKind(11033, OBJECT_NOT_FOUND, "Handler with ID '{}' not found", 404)
VERIFIER_NOT_FOUND = ErrorKind(34004, OBJECT_NOT_FOUND, "Verifier with id '{}' not found", 404)
SAMPLE_NOT_FOUND = ErrorKind(13003, OBJECT_NOT_FOUND, "Sample with id '{}' not found", 404)
FACE_NOT_FOUND = ErrorKind(22002, OBJECT_NOT_FOUND, "Face with id '{}' not found", 404)
SOME_NOT_FOUND = ErrorKind(11020, OBJECT_NOT_FOUND, "One or more {} not found", 404)
# ours: LUNA's codes for these are not published.
LIST_NOT_FOUND = ErrorKind(22003, OBJECT_NOT_FOUND, "List with id '{}' not found", 404)
ATTRIBUTE_NOT_FOUND = ErrorKind(22012, OBJECT_NOT_FOUND, "Attribute with id '{}' not found", 404)
DESCRIPTOR_VERSION = ErrorKind(12031, BAD_INPUT, "Descriptor of version {} cannot be used: {}")


class LunaError(Exception):
    """An error to answer with a LUNA error body and the kind's HTTP status."""

    def __init__(self, kind: ErrorKind, *args: Any, status: int | None = None) -> None:
        self.kind = kind
        self.args_ = args
        self.status = status or kind.status
        super().__init__(self.body["detail"])

    @property
    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return self.kind.body(*self.args_)


# LUNA Events' code for a missing event.
EVENT_NOT_FOUND = ErrorKind(23001, OBJECT_NOT_FOUND, "Event with id '{}' not found", 404)
DYNAMIC_HANDLER_ONLY = ErrorKind(34007, "Forbidden", "Allowed use only dynamic handler", 403)

# Authorization, as LUNA's API service answers it (codes 11063, 11065, 11069 of its list).
AUTH_FAILED = ErrorKind(11065, "Unauthorized", "Authorization failed, {}", 401)
ACCOUNT_QUERY_DENIED = ErrorKind(
    11063,
    "Forbidden",
    "The query parameter account_id usage denied due to account restrictions",
    403,
)
ACCOUNT_MISMATCH = ErrorKind(
    11069,
    "Forbidden",
    "Account id specified in {} is different from requester account id, that is not "
    "acceptable due to account/token visibility area restrictions",
    403,
)
# ours: LUNA's 11059 names token permissions; here the account type decides.
ADMIN_REQUIRED = ErrorKind(
    11059, "Forbidden", "Request denied due to account restrictions, required '{}' for '{}'", 403
)
# ours: LUNA's Accounts service codes for these are not published.
ACCOUNT_EXISTS = ErrorKind(12031, BAD_INPUT, "Account with {} '{}' already exists", 409)
ACCOUNT_NOT_FOUND = ErrorKind(12013, OBJECT_NOT_FOUND, "Account with id '{}' not found", 404)
TOKEN_NOT_FOUND = ErrorKind(12013, OBJECT_NOT_FOUND, "Token with id '{}' not found", 404)
# Overload (serve_app.http.limits). A full ingress answers LUNA's 2, its code for a request that
# could not be queued in time. ours: LUNA publishes no rate limit error; 9xxxx codes are this
# service's own and appear in no LUNA list.
QUEUE_FULL = ErrorKind(2, "Queue request timeout", "{}", 503)
RATE_LIMITED = ErrorKind(
    90001, "Too many requests", "Rate limit exceeded for {}: {} requests/s, burst {}", 429
)
# ours: LUNA's Image Store code for a missing image is not published.
IMAGE_NOT_FOUND = ErrorKind(13001, OBJECT_NOT_FOUND, "Image with id '{}' not found", 404)
# LUNA's common "server connection error", for a database that cannot be reached.
DATABASE_UNAVAILABLE = ErrorKind(11, "Internal server error", "Server connection error: {}", 503)


async def send_error_body(
    send: Callable[[dict[str, Any]], Awaitable[None]],
    status: int,
    body: dict[str, Any],
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Answer an ASGI request with a LUNA error body as JSON, for the middlewares that
    answer before (or instead of) the app."""
    data = json.dumps(body).encode()
    start_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": data})
