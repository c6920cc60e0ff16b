"""The laptop profile with direct ingress (``--direct-ingress``): the ingress replica answers
HTTP and WebSocket on the service's port itself, without Ray's proxy hop, and the proxy on
port + 100 still reaches the same app."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from serve_app.http.timing import parse
from serve_app.launch import PROXY_PORT_OFFSET
from tests.conftest import ACCOUNT

pytestmark = pytest.mark.e2e


async def test_the_ingress_serves_sdk_and_events_without_the_proxy(direct_service, photo_bytes):
    headers = {"Luna-Account-Id": ACCOUNT}
    async with httpx.AsyncClient(base_url=direct_service, headers=headers, timeout=120) as http:
        sdk = await http.post(
            "/1/sdk?detect_face=1&estimate_face_descriptor=1&estimate_basic_attributes=1",
            content=photo_bytes("obama.jpg"),
            headers={"Content-Type": "image/jpeg"},
        )
        assert sdk.status_code == 200, sdk.text
        [face] = sdk.json()["images_estimations"][0]["estimations"]
        assert 20 < face["face"]["attributes"]["basic_attributes"]["age"] < 80
        # The estimators are still their own deployments, reached over Ray.
        stages = parse(sdk.headers["server-timing"])
        assert 0 < stages["face_descriptor.model"] <= stages["face_descriptor"]

        handler = await http.post("/1/handlers", json={"description": "direct"})
        assert handler.status_code == 201, handler.text
        handler_id = handler.json()["handler_id"]
        ws_url = direct_service.replace("http://", "ws://") + f"/1/ws?handler_id={handler_id}"
        async with websockets.connect(ws_url, additional_headers=headers) as ws:
            event = await http.post(
                f"/1/handlers/{handler_id}/events",
                content=photo_bytes("obama.jpg"),
                headers={"Content-Type": "image/jpeg"},
            )
            assert event.status_code == 201, event.text
            pushed = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert pushed["event_id"] == event.json()["events"][0]["event_id"]

        # A LUNA error keeps its body and status on the direct path.
        missing = await http.get(f"/1/handlers/{ACCOUNT}")
        assert missing.status_code == 404 and missing.json()["error_code"] == 11033

    host, port = direct_service.rsplit(":", 1)
    proxy = f"{host}:{int(port) + PROXY_PORT_OFFSET}"
    proxied = httpx.get(f"{proxy}/1/handlers/{handler_id}", headers=headers, timeout=60)
    assert proxied.status_code == 200 and proxied.json()["description"] == "direct"
