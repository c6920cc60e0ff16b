"""Typed sync and async clients of the LUNA Handlers REST API (v2.16.1) as luna-serve serves
it: :class:`LunaClient`, :class:`AsyncLunaClient`.

    from luna_client import LunaClient

    with LunaClient("http://127.0.0.1:5090", account_id="...") as luna:
        faces = luna.detect(open("group.jpg", "rb").read(), multiface_policy=1)
"""

from luna_client import models, responses
from luna_client._core import ImageFile, sniff_mimetype
from luna_client.async_client import AsyncLunaClient
from luna_client.client import LunaClient
from luna_client.errors import (
    BadInput,
    Conflict,
    EstimatorUnavailable,
    Forbidden,
    LunaError,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
)
from luna_client.retry import NO_RETRY, RetryPolicy

__version__ = "0.1.0"

__all__ = [
    "NO_RETRY",
    "AsyncLunaClient",
    "BadInput",
    "Conflict",
    "EstimatorUnavailable",
    "Forbidden",
    "ImageFile",
    "LunaClient",
    "LunaError",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "Overloaded",
    "PayloadTooLarge",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailable",
    "Unauthorized",
    "models",
    "responses",
    "sniff_mimetype",
]
