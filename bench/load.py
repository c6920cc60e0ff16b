"""Stepped load on the running service, with Serve's replicas watched, as a report and a plot.

    .venv/bin/python bench/load.py --url http://127.0.0.1:5090 \\
        --steps 2:30,24:90,2:90 --mix detector=3,sdk=3,events=2,match=2 --out .data/load

Each step holds a number of concurrent clients for some seconds; every client loops over
requests drawn by ``--mix`` weight from: ``detector`` (POST /1/detector), ``sdk`` (POST /1/sdk
with descriptor and age/gender), ``events`` (an identify handler's events: detect, extract,
match against a list, store the event) and ``match`` (POST /1/matcher/faces with a stored
face against the list). The test photos are the inputs; setup registers their faces in a
list through a storing handler. Meanwhile a driver attached to the local Ray cluster reads
``serve.status()`` every ``--sample-s`` seconds: running replicas per deployment.

Written to ``--out``: ``requests.csv`` (one row per request), ``replicas.csv``, ``report.md``
(per step: requests/s, p50/p95/p99, errors by status and LUNA code; replicas per deployment
per step) and ``load.png`` (concurrency and throughput, latency, replicas, over time). Run the
service with the autoscaled profile to see replicas follow the load:
``bash scripts/run-service.sh --profile loadtest``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import os
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.data.fetch import catalogue, photo_dir

ACCOUNT = "b668c4a5-2191-476e-a261-3b4f9ce2e25e"
SDK = "/1/sdk?detect_face=1&estimate_face_descriptor=1&estimate_basic_attributes=1"


@dataclass(frozen=True)
class Done:
    """One request: when it started (s from the run's start), its step, kind and outcome."""

    start: float
    step: int
    kind: str
    status: int
    code: int | None
    latency: float


def parse_steps(text: str) -> list[tuple[int, float]]:
    """``"2:30,24:90"`` -> [(2 clients, 30 s), (24 clients, 90 s)]."""
    steps = []
    for part in text.split(","):
        clients, _, seconds = part.partition(":")
        steps.append((int(clients), float(seconds)))
    if not steps or any(c < 1 or s <= 0 for c, s in steps):
        raise ValueError(f"steps must be clients:seconds pairs, got {text!r}")
    return steps


def parse_mix(text: str) -> dict[str, float]:
    """``"detector=3,sdk=1"`` -> weights by kind."""
    mix = {k: float(v) for k, v in (p.split("=") for p in text.split(","))}
    unknown = set(mix) - {"detector", "sdk", "events", "match"}
    if unknown or not mix:
        raise ValueError(f"unknown request kinds {sorted(unknown)}")
    return mix


class Workload:
    """The service objects a run needs (a list, two handlers, stored faces) and the requests."""

    def __init__(self, client: httpx.AsyncClient, photos: list[tuple[str, bytes]]) -> None:
        self.client, self.photos = client, photos
        self.list_id = self.identify = ""
        self.faces: list[str] = []

    async def setup(self) -> None:
        """A list, a handler storing faces into it, one identifying against it; registers
        every face of the photos."""
        self.list_id = await self._created("/1/lists", {"user_data": "load test"})
        register = await self._created("/1/handlers", {"policies": {
            "extract_policy": {"extract_face_descriptor": 1},
            "storage_policy": {"face_policy": {
                "store_face": 1, "link_to_lists_policy": [{"list_id": self.list_id}]}},
        }})  # fmt: skip
        self.identify = await self._created("/1/handlers", {"policies": {
            "extract_policy": {"extract_face_descriptor": 1},
            "match_policy": [{"label": "known", "candidates": {"list_id": self.list_id},
                              "threshold": 0.5}],
        }})  # fmt: skip
        for name, data in self.photos:
            response = await self.client.post(
                f"/1/handlers/{register}/events", content=data, headers=_type(name)
            )
            response.raise_for_status()
            self.faces += [e["face"]["face_id"] for e in response.json()["events"] if e["face"]]
        if not self.faces:
            raise RuntimeError("no face registered: the photos have none?")

    async def _created(self, path: str, body: dict) -> str:
        response = await self.client.post(path, json=body)
        response.raise_for_status()
        return next(v for k, v in response.json().items() if k.endswith("_id"))

    def request(self, kind: str) -> tuple[str, str, dict]:
        """(method path, content or json, headers) of one request of ``kind``."""
        name, data = random.choice(self.photos)
        if kind == "detector":
            return "/1/detector", data, _type(name)
        if kind == "sdk":
            return SDK, data, _type(name)
        if kind == "events":
            return f"/1/handlers/{self.identify}/events", data, _type(name)
        body = {"references": [{"type": "face_id", "id": random.choice(self.faces)}],
                "candidates": [{"filters": {"list_id": self.list_id}, "limit": 5}]}  # fmt: skip
        return "/1/matcher/faces", body, {}


def _type(name: str) -> dict[str, str]:
    return {"Content-Type": "image/png" if name.endswith(".png") else "image/jpeg"}


async def run_steps(
    workload: Workload, steps: list[tuple[int, float]], mix: dict[str, float], t0: float
) -> list[Done]:
    """Hold each step's clients for its seconds; every request's outcome."""
    done: list[Done] = []
    kinds, weights = list(mix), list(mix.values())

    async def client(step: int, until: float) -> None:
        while time.perf_counter() < until:
            kind = random.choices(kinds, weights)[0]
            path, payload, headers = workload.request(kind)
            started = time.perf_counter()
            code = None
            try:
                if isinstance(payload, dict):
                    response = await workload.client.post(path, json=payload, headers=headers)
                else:
                    response = await workload.client.post(path, content=payload, headers=headers)
                status = response.status_code
                if status >= 400:
                    code = _luna_code(response)
            except httpx.HTTPError:
                status = 0  # no answer: connection refused, reset or timed out
            finished = time.perf_counter()
            done.append(Done(started - t0, step, kind, status, code, finished - started))

    for step, (clients, seconds) in enumerate(steps):
        until = time.perf_counter() + seconds
        await asyncio.gather(*(client(step, until) for _ in range(clients)))
    return done


def _luna_code(response: httpx.Response) -> int | None:
    try:
        return int(response.json().get("error_code"))
    except Exception:  # not a LUNA error body (a proxy's page)
        return None


class ReplicaWatch:
    """Running replicas per deployment of the ``luna`` app over time, from serve.status(),
    read by a driver attached to the local Ray cluster in a thread of its own."""

    def __init__(self, every_s: float, t0: float) -> None:
        self.every_s, self.t0 = every_s, t0
        self.samples: list[tuple[float, dict[str, int]]] = []
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            os.environ.setdefault("RAY_AUTH_MODE", "token")  # Ray 2.60's default cluster auth
            import ray
            from ray import serve

            ray.init(address="auto", logging_level="ERROR", log_to_driver=False)
            while not self._stop.is_set():
                app = serve.status().applications.get("luna")
                if app is not None:
                    counts = {
                        name: d.replica_states.get("RUNNING", 0)
                        for name, d in app.deployments.items()
                    }
                    self.samples.append((time.perf_counter() - self.t0, counts))
                self._stop.wait(self.every_s)
        except Exception as exc:  # the load still runs; the report says why replicas are absent
            self.error = f"{type(exc).__name__}: {exc}"


def report(done: list[Done], steps, samples, error: str | None) -> str:
    """The markdown report: per step figures, then replicas per deployment per step."""
    lines = ["| step | clients | seconds | requests/s | p50 ms | p95 ms | p99 ms | errors |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    bounds = np.cumsum([0.0] + [s for _, s in steps])
    for i, (clients, seconds) in enumerate(steps):
        rows = [d for d in done if d.step == i]
        lat = np.array([d.latency for d in rows if 0 < d.status < 400]) * 1000
        errors = Counter(f"{d.status}/{d.code}" if d.code else str(d.status)
                         for d in rows if not 0 < d.status < 400)  # fmt: skip
        p50, p95, p99 = (np.percentile(lat, p) if len(lat) else float("nan") for p in (50, 95, 99))
        text = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or "none"
        if not rows:
            lines.append(f"| {i + 1} | {clients} | {seconds:.0f} | 0 | | | | |")
            continue
        lines.append(f"| {i + 1} | {clients} | {seconds:.0f} | {len(rows) / seconds:.1f} "
                     f"| {p50:.0f} | {p95:.0f} | {p99:.0f} | {text} |")  # fmt: skip
    lines += ["", "| kind | requests | p50 ms | p95 ms | errors |", "|---|---|---|---|---|"]
    for kind in sorted({d.kind for d in done}):
        rows = [d for d in done if d.kind == kind]
        lat = np.array([d.latency for d in rows if 0 < d.status < 400]) * 1000
        bad = sum(1 for d in rows if not 0 < d.status < 400)
        p50, p95 = (np.percentile(lat, p) if len(lat) else float("nan") for p in (50, 95))
        lines.append(f"| {kind} | {len(rows)} | {p50:.0f} | {p95:.0f} | {bad} |")
    lines += [""]
    if not samples:
        lines.append(f"No replica samples ({error or 'no luna application seen'}).")
        return "\n".join(lines) + "\n"
    names = sorted({n for _, counts in samples for n in counts})
    lines += ["Running replicas per deployment in each step (min-max):", "",
              "| deployment | " + " | ".join(f"step {i + 1}" for i in range(len(steps))) + " |",
              "|---|" + "---|" * len(steps)]  # fmt: skip
    for name in names:
        cells = []
        for i in range(len(steps)):
            seen = [c.get(name, 0) for t, c in samples if bounds[i] <= t < bounds[i + 1]]
            cells.append(f"{min(seen)}-{max(seen)}" if seen else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(done: list[Done], steps, samples, path: Path, bin_s: float = 5.0) -> None:
    """Concurrency and throughput, latency, and replicas over time, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no screen
    import matplotlib.pyplot as plt

    end = sum(s for _, s in steps)
    edges = np.arange(0, end + bin_s, bin_s)
    starts = np.array([d.start for d in done])
    ok = np.array([0 < d.status < 400 for d in done])
    latency = np.array([d.latency for d in done]) * 1000
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    counts, _ = np.histogram(starts[ok], edges)
    ax1.step(edges[:-1], counts / bin_s, where="post", label="requests/s (ok)")
    bad, _ = np.histogram(starts[~ok], edges)
    if bad.any():
        ax1.step(edges[:-1], bad / bin_s, where="post", color="red", label="errors/s")
    clients = ax1.twinx()
    bounds = np.cumsum([0.0] + [s for _, s in steps])
    clients.step(bounds, [c for c, _ in steps] + [steps[-1][0]], where="post", color="gray",
                 linestyle="--", label="clients")  # fmt: skip
    clients.set_ylabel("clients")
    ax1.set_ylabel("requests/s")
    ax1.legend(loc="upper left")
    for q, style in ((50, "-"), (95, "--")):
        values = [np.percentile(latency[ok & (starts >= a) & (starts < b)], q)
                  if np.any(ok & (starts >= a) & (starts < b)) else np.nan
                  for a, b in itertools.pairwise(edges)]  # fmt: skip
        ax2.step(edges[:-1], values, where="post", linestyle=style, label=f"p{q}")
    ax2.set_ylabel("latency ms")
    ax2.legend(loc="upper left")
    names = sorted({n for _, c in samples for n in c})
    changing = [n for n in names if len({c.get(n, 0) for _, c in samples}) > 1] or names
    for name in changing:
        ax3.step([t for t, _ in samples], [c.get(name, 0) for _, c in samples], where="post",
                 label=name)  # fmt: skip
    ax3.set_ylabel("running replicas")
    ax3.set_xlabel("seconds")
    if changing:
        ax3.legend(loc="upper left", fontsize="small", ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


async def main_async(options: argparse.Namespace) -> None:
    steps, mix = parse_steps(options.steps), parse_mix(options.mix)
    photos = [(n, (photo_dir() / n).read_bytes()) for n in catalogue()]
    limits = httpx.Limits(max_connections=max(c for c, _ in steps) + 4)
    headers = {"Luna-Account-Id": options.account}
    async with httpx.AsyncClient(base_url=options.url, headers=headers, limits=limits,
                                 timeout=options.timeout) as client:  # fmt: skip
        workload = Workload(client, photos)
        await workload.setup()
        print(f"registered {len(workload.faces)} faces; running {options.steps}", flush=True)
        t0 = time.perf_counter()
        watch = ReplicaWatch(options.sample_s, t0)
        watch.start()
        try:
            done = await run_steps(workload, steps, mix, t0)
        finally:
            await asyncio.sleep(options.tail_s)  # see replicas scale back after the load
            watch.stop()
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "requests.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["start_s", "step", "kind", "status", "luna_code", "latency_ms"])
        for d in done:
            writer.writerow([f"{d.start:.3f}", d.step + 1, d.kind, d.status, d.code or "",
                             f"{d.latency * 1000:.1f}"])  # fmt: skip
    names = sorted({n for _, c in watch.samples for n in c})
    with open(out / "replicas.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["t_s", *names])
        for t, counts in watch.samples:
            writer.writerow([f"{t:.1f}", *(counts.get(n, 0) for n in names)])
    # The tail after the load is a step of no clients: replicas scaling back show there.
    shown = [*steps, (0, options.tail_s)] if options.tail_s else steps
    text = report(done, shown, watch.samples, watch.error)
    (out / "report.md").write_text(text)
    plot(done, shown, watch.samples, out / "load.png")
    print(text)
    print(f"written: {out}/report.md, requests.csv, replicas.csv, load.png")


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5090")
    parser.add_argument("--steps", default="2:30,24:90,2:90", help="clients:seconds,...")
    parser.add_argument("--mix", default="detector=3,sdk=3,events=2,match=2")
    parser.add_argument("--account", default=ACCOUNT)
    parser.add_argument("--sample-s", type=float, default=2.0, help="replica sampling period")
    parser.add_argument("--tail-s", type=float, default=0.0,
                        help="keep watching replicas this long after the load")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--out", type=Path, default=Path(".data/load"))
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
