"""The web console: static HTML, CSS and JavaScript modules from ``serve_app/console``, served
at ``/console`` by the ingress itself (no build step, nothing fetched from elsewhere). The
console calls the LUNA routes from the browser like any other client (docs/console.md).

The routes stay out of the API document: they are not part of LUNA's API.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse, Response

from serve_app.errors import PAGE_NOT_FOUND, LunaError

router = APIRouter(tags=["console"], include_in_schema=False)

CONSOLE_DIR = Path(__file__).resolve().parents[1] / "console"
# The only kinds of file the console has; anything else is not served.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# Revalidate on every load: after an upgrade the browser must not mix old and new modules.
HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


@router.get("/console")
async def console_page() -> Response:
    """The console's page (``/console/`` is the same route: the protocol strips the slash)."""
    return _file("index.html")


@router.get("/console/{path:path}")
async def console_file(path: str) -> Response:
    """One of the console's files, by its path under ``serve_app/console``."""
    return _file(path)


def _file(path: str) -> Response:
    """The file at ``path`` inside the console folder; LUNA's 12013 for anything else (a
    missing file, another kind of file, or a path leading out of the folder)."""
    target = (CONSOLE_DIR / path).resolve()
    media_type = MEDIA_TYPES.get(target.suffix)
    if media_type is None or not target.is_relative_to(CONSOLE_DIR) or not target.is_file():
        raise LunaError(PAGE_NOT_FOUND)
    return FileResponse(target, media_type=media_type, headers=HEADERS)
