"""Failures outside the app answer LUNA errors: an unreachable database is a prompt 503 the
client may retry; the HTTP proxy's own plain-text errors get LUNA's body."""

from __future__ import annotations

import httpx
from starlette.responses import JSONResponse, PlainTextResponse

from serve_app.http.protocol import ProxyErrorBodyMiddleware
from tests.api.conftest import make_services
from tests.api.helpers import assert_luna_error


async def test_an_unreachable_database_is_a_503_to_retry(make_client, models_dir, tmp_path):
    # Nothing listens on port 1: every connection is refused at once.
    services = make_services(
        models_dir, tmp_path, database_url="postgresql+asyncpg://luna@127.0.0.1:1/luna"
    )
    client = make_client(services)
    response = await client.get("/1/handlers")
    body = assert_luna_error(response, 11, 503)
    assert "Server connection error" in body["detail"]
    assert response.headers["Retry-After"] == "5"


def proxied(answer):
    async def app(scope, receive, send):
        await answer(scope, receive, send)

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ProxyErrorBodyMiddleware(app)), base_url="http://proxy"
    )


async def test_the_proxys_plain_text_errors_get_lunas_body():
    async with proxied(PlainTextResponse("Internal Server Error", status_code=500)) as client:
        died = await client.get("/1/sdk")
    assert died.status_code == 500 and died.json()["error_code"] == 1
    busy_answer = PlainTextResponse("busy", status_code=503, headers={"Retry-After": "1"})
    async with proxied(busy_answer) as client:
        busy = await client.get("/1/sdk")
    assert busy.status_code == 503 and busy.json()["error_code"] == 2
    assert busy.headers["Retry-After"] == "1"
    # The app's own answers pass untouched, errors included.
    ours = JSONResponse({"error_code": 38001}, status_code=502)
    async with proxied(ours) as client:
        assert (await client.get("/healthcheck")).json() == {"error_code": 38001}
    async with proxied(PlainTextResponse("fine")) as client:
        assert (await client.get("/")).text == "fine"
