"""Assertions about LUNA responses shared by the API and end-to-end tests, and a WebSocket
client of an ASGI app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from serve_app.http.protocol import REQUEST_ID_PATTERN
from serve_app.views.schemas import DetectorResponse


def detector_images(response) -> list[dict[str, Any]]:
    """The ``images`` of a successful /1/detector response, checked against its schema."""
    assert response.status_code == 200, response.text
    body = response.json()
    DetectorResponse.model_validate(body)
    return body["images"]


def faces_of(image: dict[str, Any]) -> list[dict[str, Any]]:
    """The face detections of one image entry."""
    assert image["status"] == 1, image
    return [sample["face"]["detection"] for sample in image["detections"]["samples"]]


def assert_faces_at(image: dict[str, Any], centers: list[list[int]]) -> None:
    """One detection per marked face, each box holding exactly one marked center."""
    faces = faces_of(image)
    assert len(faces) == len(centers), (len(faces), centers)
    for face in faces:
        r = face["rect"]
        inside = [
            c
            for c in centers
            if r["x"] <= c[0] <= r["x"] + r["width"] and r["y"] <= c[1] <= r["y"] + r["height"]
        ]
        assert len(inside) == 1, (r, centers)
        assert len(face["landmarks5"]) == 5
        assert 0.5 <= face["score"] <= 1


def assert_luna_error(response, code: int, status: int) -> dict[str, Any]:
    """A LUNA error body with ``code`` and HTTP ``status``, carrying a request id."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_code", "desc", "detail", "link"}, body
    assert body["error_code"] == code, body
    assert REQUEST_ID_PATTERN.match(response.headers["Luna-Request-Id"])
    return body


class AsgiWebSocket:
    """A WebSocket client of an ASGI app in this event loop (no server, no thread), so that
    the app shares the test's database connections and notification hub."""

    def __init__(
        self,
        app: Any,
        query: str = "",
        headers: dict[str, str] | None = None,
        subprotocols: list[str] | None = None,
    ) -> None:
        self.scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "server": ("luna", 80),
            "client": ("127.0.0.1", 50000),
            "root_path": "",
            "path": "/1/ws",
            "raw_path": b"/1/ws",
            "query_string": query.encode(),
            "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
            "subprotocols": list(subprotocols or []),
            "state": {},
        }
        self.app = app
        self.to_app: asyncio.Queue[dict] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict] = asyncio.Queue()
        self.task: asyncio.Task | None = None

    async def connect(self) -> dict:
        """Open; the app's first answer (``websocket.accept`` or ``websocket.close``)."""
        self.to_app.put_nowait({"type": "websocket.connect"})
        self.task = asyncio.create_task(self.app(self.scope, self.to_app.get, self.from_app.put))
        return await asyncio.wait_for(self.from_app.get(), 10)

    async def receive_json(self, timeout_s: float = 10.0) -> dict:
        message = await asyncio.wait_for(self.from_app.get(), timeout_s)
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])

    async def close(self) -> None:
        self.to_app.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.task, 10)
