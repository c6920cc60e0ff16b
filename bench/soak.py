"""Soak: a long mixed load, with the memory of every process of the service sampled each minute.

With the service running (``scripts/run-service.sh``)::

    .venv/bin/python bench/soak.py --url http://127.0.0.1:5090 --minutes 20 \
        [--data-dir /tmp/luna-soak]   # which `serve run`, when several run

One client per route, each posting or getting one request after the other:

* ``detector``: POST /1/detector with a test photo (tests/data/photos.yaml);
* ``sdk``: POST /1/sdk with detection, descriptor and age/gender;
* ``events``: POST /1/handlers/{id}/events to a handler that stores each face (sample, face
  row, descriptor) and each event with ``wait_saving=1``;
* ``lists``: GET /1/events and GET /1/faces (page of 100, newest first), in turn.

Every minute the resident memory (VmRSS) of each process of the service is read from /proc:
every replica (``ray::ServeReplica:luna:<deployment>``), Ray Serve's proxy and controller,
and Ray's raylet and GCS server. Printed: per minute, requests, errors and p50/p99 latency per
route; then start (after a warm-up), end and growth of RSS per process, and whether any
process was replaced during the run (a crash and restart would hide a leak).

Bounded: ``--minutes`` of load and at most ``--max-requests`` requests. Exit status 1 when
any request failed or a process was replaced.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_service import load_photos
from bench.faults import create_handler
from bench.service_processes import rss_mib, serve_run_pid, service_processes

ROUTES = ("detector", "sdk", "events", "lists")
SDK = "/1/sdk?detect_face=1&estimate_face_descriptor=1&estimate_basic_attributes=1"


@dataclass
class Result:
    """One request: route, minute of the run it ended in, latency (s), and whether it
    succeeded (2xx); ``label`` names a failure."""

    route: str
    minute: int
    seconds: float
    ok: bool
    label: str


class Soak:
    """The clients and what they saw."""

    def __init__(self, url: str, account: str, handler_id: str, photos: list[bytes]) -> None:
        self.url = url
        self.account = account
        self.handler_id = handler_id
        self.photos = photos
        self.results: list[Result] = []
        self.t0 = time.monotonic()
        self.deadline = self.t0

    def minute(self) -> int:
        """The minute of the run now (0-based)."""
        return int((time.monotonic() - self.t0) // 60)

    def request(self, route: str, i: int) -> tuple[str, str, dict, bytes | None]:
        """Method, path, headers and body of the ``i``-th request of ``route``."""
        photo = self.photos[i % len(self.photos)]
        image = {"Luna-Account-Id": self.account, "Content-Type": "image/jpeg"}
        if route == "detector":
            return "POST", "/1/detector", image, photo
        if route == "sdk":
            return "POST", SDK, image, photo
        if route == "events":
            return "POST", f"/1/handlers/{self.handler_id}/events", image, photo
        path = "/1/events" if i % 2 == 0 else "/1/faces"
        return "GET", f"{path}?page_size=100", {"Luna-Account-Id": self.account}, None

    async def client(self, route: str, max_requests: int) -> None:
        """Send ``route``'s requests one after the other until the deadline."""
        async with httpx.AsyncClient(base_url=self.url, timeout=120) as http:
            i = 0
            while time.monotonic() < self.deadline and len(self.results) < max_requests:
                method, path, headers, body = self.request(route, i)
                i += 1
                began = time.perf_counter()
                try:
                    response = await http.request(method, path, headers=headers, content=body)
                    ok = 200 <= response.status_code < 300
                    label = str(response.status_code)
                    if not ok:
                        label += f" ({response.json().get('error_code')})"
                except (httpx.HTTPError, ValueError) as exc:
                    ok, label = False, type(exc).__name__
                seconds = time.perf_counter() - began
                self.results.append(Result(route, self.minute(), seconds, ok, label))
                if not ok:
                    await asyncio.sleep(0.1)  # no hot loop against a failing service


def memory(root: int) -> dict[str, tuple[int, float]]:
    """(pid, RSS MiB) of every process of the service under ``serve run`` ``root``, by
    label."""
    out = {}
    for process in service_processes(root, daemons=True):
        rss = rss_mib(process.pid)
        if rss is not None:
            out[process.label] = (process.pid, rss)
    return out


async def sample_memory(soak: Soak, root: int, samples: list[tuple[float, dict]]) -> None:
    """RSS of every process at the start and then once a minute until the deadline."""
    while True:
        samples.append(((time.monotonic() - soak.t0) / 60, memory(root)))
        if time.monotonic() + 60 > soak.deadline:
            return
        await asyncio.sleep(60)


def per_minute(results: list[Result], minutes: int) -> int:
    """Print the per-minute table; returns the failures."""
    header = f"{'min':>4}" + "".join(f"{r + ' n/err p50/p99 ms':>30}" for r in ROUTES)
    print("\n" + header)
    table: dict[tuple[int, str], list[Result]] = defaultdict(list)
    for result in results:
        table[(result.minute, result.route)].append(result)
    for minute in range(minutes):
        row = f"{minute + 1:>4}"
        for route in ROUTES:
            cell = table.get((minute, route), [])
            if not cell:
                row += f"{'-':>30}"
                continue
            ms = np.array([r.seconds for r in cell]) * 1000
            errors = sum(1 for r in cell if not r.ok)
            p50, p99 = np.percentile(ms, 50), np.percentile(ms, 99)
            row += f"{f'{len(cell)}/{errors} {p50:.0f}/{p99:.0f}':>30}"
        print(row)
    failures = [r for r in results if not r.ok]
    if failures:
        counts: dict[str, int] = defaultdict(int)
        for r in failures:
            counts[f"{r.route} {r.label}"] += 1
        print("failures:", dict(counts))
    return len(failures)


def stability(results: list[Result], minutes: int) -> None:
    """First against last minutes: has latency drifted?"""
    span = max(1, minutes // 4)
    print(f"\nlatency, first {span} min against last {span} min (p50 / p99 ms):")
    for route in ROUTES:
        first = [r.seconds for r in results if r.route == route and r.minute < span]
        last = [r.seconds for r in results if r.route == route and r.minute >= minutes - span]
        if not first or not last:
            continue
        a, b = np.array(first) * 1000, np.array(last) * 1000
        print(
            f"  {route:<9} {np.percentile(a, 50):7.0f} / {np.percentile(a, 99):7.0f}  ->  "
            f"{np.percentile(b, 50):7.0f} / {np.percentile(b, 99):7.0f}"
        )


def memory_report(samples: list[tuple[float, dict]]) -> int:
    """Print RSS per process by minute, then start/end/growth; returns processes replaced."""
    labels = sorted({label for _, seen in samples for label in seen})
    print("\nRSS MiB per process at each sample (minute of the run):")
    print(f"{'process':<18}" + "".join(f"{m:>7.0f}" for m, _ in samples))
    for label in labels:
        row = "".join(
            f"{seen[label][1]:>7.0f}" if label in seen else f"{'-':>7}" for _, seen in samples
        )
        print(f"{label:<18}{row}")
    first, last = samples[0][1], samples[-1][1]
    replaced = 0
    print(f"\n{'process':<18}{'start MiB':>10}{'end MiB':>10}{'growth':>10}  pid")
    total_start = total_end = 0.0
    for label in labels:
        if label not in first or label not in last:
            print(f"{label:<18} missing at the start or the end")
            replaced += 1
            continue
        (pid0, start), (pid1, end) = first[label], last[label]
        note = str(pid0) if pid0 == pid1 else f"{pid0} -> {pid1} (REPLACED)"
        replaced += pid0 != pid1
        total_start, total_end = total_start + start, total_end + end
        print(f"{label:<18}{start:>10.0f}{end:>10.0f}{end - start:>+10.0f}  {note}")
    print(f"{'all':<18}{total_start:>10.0f}{total_end:>10.0f}{total_end - total_start:>+10.0f}")
    return replaced


async def run(options: argparse.Namespace) -> int:
    """Warm up, soak, report."""
    root = serve_run_pid(options.data_dir)
    account = str(uuid.uuid4())
    handler_id = create_handler(options.url, account)
    soak = Soak(options.url, account, handler_id, load_photos())
    print(f"account {account}, handler {handler_id}, {len(soak.photos)} photos")
    # Warm-up: each route once per photo, so that the start RSS is of a working service,
    # not of one that has yet to load models and open connections.
    soak.deadline = time.monotonic() + options.warmup_s
    await asyncio.gather(*(soak.client(route, options.max_requests) for route in ROUTES))
    soak.results.clear()
    soak.t0 = time.monotonic()
    soak.deadline = soak.t0 + options.minutes * 60
    samples: list[tuple[float, dict]] = []
    await asyncio.gather(
        sample_memory(soak, root, samples),
        *(soak.client(route, options.max_requests) for route in ROUTES),
    )
    samples.append(((time.monotonic() - soak.t0) / 60, memory(root)))
    minutes = int(np.ceil((time.monotonic() - soak.t0) / 60))
    print(f"\n{len(soak.results)} requests in {options.minutes} min")
    failures = per_minute(soak.results, minutes)
    stability(soak.results, int(options.minutes))
    replaced = memory_report(samples)
    print(f"\nfailures: {failures}, processes replaced: {replaced}")
    return 1 if failures or replaced else 0


def main() -> int:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5090")
    parser.add_argument(
        "--data-dir", default="", help="the service's data dir: picks its `serve run` process"
    )
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--warmup-s", type=float, default=30)
    parser.add_argument("--max-requests", type=int, default=200_000)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
