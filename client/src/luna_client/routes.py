"""What the client knows of each route the server serves.

The table itself (:data:`luna_client._routes.ROUTES`) is generated from the served OpenAPI
document by ``client/scripts/generate.py``; this module holds its row type and the lookups the
clients share, so that both clients declare nothing about a route by themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

# Methods that may be repeated without changing the outcome (RFC 9110, 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class Route:
    """One operation of the served document.

    ``key`` is ``"<METHOD> <path template>"``, how the clients name the route they call.
    ``query`` lists the query parameters the route takes, ``account_header`` whether it reads
    ``Luna-Account-Id``, ``body_types`` the request media types it accepts, ``success`` its
    2xx statuses, ``json_response`` whether a success answers with a LUNA body (JSON, or
    msgpack on request), and ``response`` the schema name of that body when the document
    names one.
    """

    method: str
    path: str
    query: tuple[str, ...] = ()
    account_header: bool = False
    body_types: tuple[str, ...] = ()
    body_schema: str | None = None
    success: tuple[int, ...] = (200,)
    json_response: bool = False
    response: str | None = None

    @property
    def key(self) -> str:
        """``"<METHOD> <path template>"``."""
        return f"{self.method} {self.path}"

    @property
    def idempotent(self) -> bool:
        """Whether repeating the request is safe whatever the server did with the first."""
        return self.method in IDEMPOTENT_METHODS

    def url(self, **path_params: str) -> str:
        """The path with its ``{name}`` parameters filled in."""
        path = self.path
        for name, value in path_params.items():
            placeholder = "{" + name + "}"
            if placeholder not in path:
                raise TypeError(f"{self.key} has no path parameter {name!r}")
            path = path.replace(placeholder, _segment(value))
        if "{" in path:
            raise TypeError(f"{self.key}: missing path parameters in {path}")
        return path


def _segment(value: str) -> str:
    # Ids are UUIDs; anything else must stay inside its own path segment.
    text = str(value)
    if not text or text in (".", ".."):
        raise ValueError(f"bad path parameter {text!r}")
    return quote(text, safe="")
