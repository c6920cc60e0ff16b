"""Overload: fire more concurrent requests than the service takes and see how it answers.

With the ingress bound (``limits.max_concurrent_requests``) an overload gets fast 503s (LUNA's
2) and the admitted requests keep their latency; without it every request waits behind the
others. Per account rate limits (``limits.rate_limit_rps``) answer 429 (our 90001).

Against a running service::

    .venv/bin/python bench/bench_overload.py --url http://127.0.0.1:5090 --burst 64 --rounds 3

Or against the app served here by uvicorn in a child process (no Ray; the estimators run in
that process), once per bound given, so that the figures compare::

    .venv/bin/python bench/bench_overload.py --in-process --max-concurrent 0,4 --burst 64

Each round sends ``--burst`` requests at once (POST /1/detector with one test photo) and waits
for all of them; the report counts statuses and error codes and gives latency percentiles per
status.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.data.fetch import photo_dir

ACCOUNT = "b668c4a5-2191-476e-a261-3b4f9ce2e25e"


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(port: int, limits: dict) -> None:
    """Run the app of the shipped CPU profile, with ``limits`` over its own, on ``port``."""
    import tempfile

    import uvicorn

    from models.provision import app_args
    from serve_app.app import create_app
    from serve_app.estimators import Estimators
    from serve_app.services import Services
    from serve_app.settings import Settings

    root = Path(__file__).resolve().parents[1]
    args = app_args(root / "serve_config.yaml")[0]
    args["limits"] = {**args.get("limits", {}), **limits}
    args["data_dir"] = tempfile.mkdtemp(prefix="luna-overload-")
    args["models_dir"] = str(root / ".data" / "models")
    settings = Settings.from_args(args, environ={})
    app = create_app(Services(settings, Estimators(settings)))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


async def wait_up(url: str, timeout_s: float = 120) -> None:
    """Return once ``url`` answers /healthcheck."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(f"{url}/version")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
    raise TimeoutError(f"{url} did not come up in {timeout_s} s")


async def one(http: httpx.AsyncClient, url: str, image: bytes) -> tuple[str, float]:
    """(status and LUNA error code, seconds) of one detection request."""
    began = time.perf_counter()
    try:
        response = await http.post(
            f"{url}/1/detector",
            content=image,
            headers={"Content-Type": "image/jpeg", "Luna-Account-Id": ACCOUNT},
        )
        label = str(response.status_code)
        if response.status_code >= 400:
            try:
                label += f" ({response.json().get('error_code')})"
            except ValueError:  # not a LUNA body: say so rather than stop the run
                label += f" (not JSON: {response.content[:40]!r})"
    except httpx.HTTPError as exc:
        label = type(exc).__name__
    return label, time.perf_counter() - began


async def burst(url: str, image: bytes, size: int, rounds: int) -> dict[str, list[float]]:
    """Latencies by outcome of ``rounds`` bursts of ``size`` simultaneous requests."""
    outcomes: dict[str, list[float]] = defaultdict(list)
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    async with httpx.AsyncClient(timeout=300, limits=limits) as http:
        await one(http, url, image)  # warm up: models loaded, connections open
        for _ in range(rounds):
            for label, seconds in await asyncio.gather(
                *(one(http, url, image) for _ in range(size))
            ):
                outcomes[label].append(seconds)
    return outcomes


def report(title: str, outcomes: dict[str, list[float]], wall_s: float) -> None:
    """Counts and latency percentiles (ms) per outcome."""
    total = sum(len(v) for v in outcomes.values())
    print(f"\n{title}: {total} requests in {wall_s:.1f} s")
    print(f"{'outcome':<12}{'count':>7}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for label, seconds in sorted(outcomes.items()):
        ms = sorted(s * 1000 for s in seconds)
        p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
        print(f"{label:<12}{len(ms):>7}{statistics.median(ms):>10.0f}{p95:>10.0f}{ms[-1]:>10.0f}")


async def run_against(url: str, image: bytes, size: int, rounds: int, title: str) -> None:
    """One measured run against ``url``."""
    began = time.perf_counter()
    outcomes = await burst(url, image, size, rounds)
    report(title, outcomes, time.perf_counter() - began)
    counts = Counter({k: len(v) for k, v in outcomes.items()})
    print("statuses:", dict(counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5090")
    parser.add_argument("--burst", type=int, default=64, help="simultaneous requests")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--image", type=Path, default=photo_dir() / "biden.jpg")
    parser.add_argument("--in-process", action="store_true", help="serve the app here")
    parser.add_argument(
        "--max-concurrent", default="0,4", help="in-process: bounds to compare (0: none)"
    )
    parser.add_argument("--rate-limit-rps", type=float, default=0.0, help="in-process")
    args = parser.parse_args()
    image = args.image.read_bytes()
    if not args.in_process:
        asyncio.run(run_against(args.url, image, args.burst, args.rounds, args.url))
        return
    for bound in (int(b) for b in args.max_concurrent.split(",")):
        port = free_port()
        limits = {"max_concurrent_requests": bound, "rate_limit_rps": args.rate_limit_rps}
        child = multiprocessing.get_context("spawn").Process(target=serve, args=(port, limits))
        child.start()
        try:
            url = f"http://127.0.0.1:{port}"
            asyncio.run(wait_up(url))
            title = f"max_concurrent_requests={bound or 'off'}, burst {args.burst}"
            asyncio.run(run_against(url, image, args.burst, args.rounds, title))
        finally:
            child.terminate()
            child.join()


if __name__ == "__main__":
    main()
