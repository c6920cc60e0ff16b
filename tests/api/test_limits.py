"""Overload bounds (serve_app.http.limits): requests over the concurrency bound get 503 at once,
requests over an account's rate get 429, probes are never refused."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from serve_app.app import create_app
from serve_app.http.limits import MAX_BUCKETS, ConcurrencyLimitMiddleware, TokenBuckets
from tests.api.conftest import make_services
from tests.api.helpers import assert_luna_error


def test_token_bucket_allows_the_burst_then_the_rate():
    buckets = TokenBuckets(rate=2.0, burst=3)
    assert [buckets.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", now=0.0) == pytest.approx(0.5)  # one token every half second
    assert buckets.take("b", now=0.0) == 0.0  # accounts do not share a bucket
    assert buckets.take("a", now=0.5) == 0.0
    assert buckets.take("a", now=0.5) > 0
    assert [buckets.take("a", now=100.0) for _ in range(4)][-1] > 0  # never more than burst


def test_token_buckets_forget_idle_keys():
    buckets = TokenBuckets(rate=10.0, burst=1)
    for i in range(MAX_BUCKETS + 1):
        buckets.take(str(i), now=0.0)
    buckets.take("late", now=10.0)  # all the others have refilled by now
    assert len(buckets) <= 2


async def test_requests_over_the_concurrency_bound_get_503_at_once():
    release = asyncio.Event()
    started = 0

    async def slow_app(scope, receive, send):
        nonlocal started
        started += 1
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = ConcurrencyLimitMiddleware(slow_app, limit=2)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://luna"
    ) as http:
        working = [asyncio.create_task(http.get("/1/detector")) for _ in range(2)]
        while started < 2:
            await asyncio.sleep(0.001)
        began = time.perf_counter()
        refused = await http.get("/1/detector")
        assert time.perf_counter() - began < 0.5  # answered, not queued
        assert refused.status_code == 503
        assert refused.json()["error_code"] == 2
        assert refused.headers["Retry-After"] == "1"
        probe = asyncio.create_task(http.get("/healthcheck"))  # probes are never refused
        while started < 3:
            await asyncio.sleep(0.001)
        release.set()
        assert [r.status_code for r in await asyncio.gather(*working, probe)] == [200] * 3
        assert app.in_flight == 0
        assert (await http.get("/1/detector")).status_code == 200  # the slots came back


@pytest.fixture
def limited(models_dir, tmp_path):
    return make_services(
        models_dir, tmp_path, limits={"rate_limit_rps": 0.2, "rate_limit_burst": 2}
    )


async def test_an_account_over_its_rate_gets_429_and_others_do_not(limited):
    await limited.storage.ready()  # migrating takes seconds: not while the bucket refills
    transport = httpx.ASGITransport(app=create_app(limited))
    async with httpx.AsyncClient(transport=transport, base_url="http://luna") as http:
        mine = {"Luna-Account-Id": str(uuid.uuid4())}
        answers = [await http.get("/1/lists", headers=mine) for _ in range(3)]
        assert [r.status_code for r in answers[:2]] == [200, 200]
        body = assert_luna_error(answers[2], 90001, 429)
        assert mine["Luna-Account-Id"] in body["detail"]
        assert 1 <= int(answers[2].headers["Retry-After"]) <= 5  # a token every 5 s
        other = await http.get("/1/lists", headers={"Luna-Account-Id": str(uuid.uuid4())})
        assert other.status_code == 200
        assert (await http.get("/version", headers=mine)).status_code == 200


async def test_limits_are_off_by_default(client):
    answers = await asyncio.gather(*(client.get("/1/lists") for _ in range(50)))
    assert {r.status_code for r in answers} == {200}
