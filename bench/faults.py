"""Faults under load: kill replicas and stop the database, then check that nothing
acknowledged was lost or half-written.

With the service running on PostgreSQL (``scripts/run-service.sh`` with ``LUNA_DATABASE_URL``)
and its PostgreSQL started by ``scripts/postgres.sh start``::

    .venv/bin/python bench/faults.py --url http://127.0.0.1:5090 \
        --data-dir /tmp/luna-faults \
        --database-url postgresql+asyncpg://luna@127.0.0.1:54899/luna_test \
        --pg-dir /tmp/luna-pg-faults [--faults estimator,ingress,database]

A steady load runs throughout: ``--events-clients`` clients post test photos
(tests/data/photos.yaml) to a handler that detects, extracts a descriptor, stores each face
(sample, face row, descriptor) and each event with ``wait_saving=1`` (answered once
committed), and ``--sdk-clients`` clients post them to ``/1/sdk`` with a descriptor. After a
quiet baseline the faults come in turn, each once the service has recovered from the last:

* ``estimator``: SIGKILL of the ``--estimator`` deployment's replica process
  (``ray::ServeReplica:luna:<name>``); Ray Serve's controller starts a new one.
* ``ingress``: SIGKILL of the ``Ingress`` replica process.
* ``database``: PostgreSQL stopped (``pg_ctl stop -m fast``) for ``--down-s`` seconds, then
  started again with the options it ran with (its ``postmaster.opts``).

Per phase it prints the requests that failed (by route, status and LUNA error code), their
latency, the latency of the rest, and the time from the fault until requests
succeed again (the first success among requests started after the phase's last failure).
A request counts in the phase it ended in.
For the database it also prints what requests started while it was down got, and how fast.

Then it checks the database the service wrote (SQLAlchemy, the same URL) for the run's
account: every event answered 201 exists; no event names a face that does not exist (its
``face_id`` column or its body's ``face.face_id``); every face has a descriptor and its
samples exist; every sample row has its image file under ``<data-dir>/blobs/faces``.
Sample files without a row are counted, not failed: the service writes images before the
rows that name them, so a failed request may leave an orphan file by design.

Bounded: the run stops after ``--max-s`` seconds or ``--max-requests`` requests. Exit status
1 when the integrity check finds anything, else 0.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_service import load_photos
from bench.service_processes import replica_pids, serve_run_pid

SDK = "/1/sdk?detect_face=1&estimate_face_descriptor=1"
POLICIES = {
    "detect_policy": {"multiface_policy": 1},
    "extract_policy": {"extract_face_descriptor": 1},
    "storage_policy": {
        "face_sample_policy": {"store_sample": 1},
        "face_policy": {"store_face": 1, "set_sample_as_avatar": 1},
        "event_policy": {"store_event": 1, "wait_saving": 1},
    },
}


@dataclass
class Outcome:
    """One request: route, when it started and ended (s since the run began), and result."""

    route: str
    start: float
    end: float
    status: int | None  # None: no HTTP answer (transport error, timeout)
    label: str  # "201", "500 (1)", "ReadTimeout", ...
    event_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Answered with a 2xx."""
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Phase:
    """A fault and when it happened (s since the run began)."""

    name: str
    began: float
    restored: float | None = None  # database: when it was started again
    ended: float = 0.0


class Load:
    """Clients posting photos in a loop until told to stop; every answer kept."""

    def __init__(self, url: str, account: str, handler_id: str, photos: list[bytes]) -> None:
        self.url = url
        self.account = account
        self.routes = {"events": f"/1/handlers/{handler_id}/events", "sdk": SDK}
        self.photos = photos
        self.outcomes: list[Outcome] = []
        self.t0 = time.monotonic()
        self.stop = asyncio.Event()

    def now(self) -> float:
        """Seconds since the run began."""
        return time.monotonic() - self.t0

    async def client(self, route: str, offset: int, max_requests: int, timeout_s: float) -> None:
        """Post photos to ``route`` one after the other."""
        headers = {"Luna-Account-Id": self.account, "Content-Type": "image/jpeg"}
        # A fresh connection per client; no pooling across clients so that a dead ingress
        # shows up on each.
        async with httpx.AsyncClient(base_url=self.url, timeout=timeout_s) as http:
            i = offset
            while not self.stop.is_set() and len(self.outcomes) < max_requests:
                photo = self.photos[i % len(self.photos)]
                i += 1
                began = self.now()
                status, label, ids = None, "", []
                try:
                    response = await http.post(self.routes[route], content=photo, headers=headers)
                    status = response.status_code
                    label = str(status)
                    try:
                        body = response.json()
                    except ValueError:  # not a LUNA error body: show what it was
                        body = None
                        label += f" not JSON: {response.text[:40]!r}"
                    if status >= 400 and isinstance(body, dict):
                        label += f" ({body.get('error_code')})"
                    elif route == "events" and isinstance(body, dict):
                        ids = [e["event_id"] for e in body.get("events", [])]
                except httpx.HTTPError as exc:
                    label = type(exc).__name__
                self.outcomes.append(Outcome(route, began, self.now(), status, label, ids))
                if status is None or status >= 500:
                    await asyncio.sleep(0.05)  # no hot loop against a dead port

    def succeeded_since(self, since: float, count: int) -> bool:
        """Whether every route has ``count`` successes started after ``since`` and after its
        last failure."""
        for route in self.routes:
            mine = [o for o in self.outcomes if o.route == route and o.start >= since]
            failures = [o.start for o in mine if not o.ok]
            after = max(failures, default=since)
            if sum(1 for o in mine if o.ok and o.start >= after) < count:
                return False
        return True


def create_handler(url: str, account: str) -> str:
    """The handler the events clients post to; its id."""
    response = httpx.post(
        f"{url}/1/handlers",
        json={"description": "faults", "policies": POLICIES},
        headers={"Luna-Account-Id": account},
        timeout=60,
    )
    response.raise_for_status()
    return response.json()["handler_id"]


def kill_replica(root: int, deployment: str) -> int:
    """SIGKILL the one replica process of ``deployment`` under ``serve run`` ``root``; its
    pid."""
    pids = replica_pids(root, deployment)
    if len(pids) != 1:
        raise RuntimeError(f"expected one replica of {deployment}, found pids {pids}")
    os.kill(pids[0], signal.SIGKILL)
    return pids[0]


class Postgres:
    """Stop and start the PostgreSQL server of ``scripts/postgres.sh`` (its directory)."""

    def __init__(self, pg_dir: Path) -> None:
        self.data = pg_dir / "data"
        self.log = pg_dir / "server.log"
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: Path(p).parent)
        if not binaries:
            raise RuntimeError("PostgreSQL binaries not found under /usr/lib/postgresql")
        self.pg_ctl = f"{binaries[-1]}/pg_ctl"
        # The options the server runs with now (port, socket dir, listen address...), as
        # pg_ctl recorded them: started again, it listens where the service expects it.
        argv = shlex.split((self.data / "postmaster.opts").read_text())[1:]
        options = [a for i, a in enumerate(argv) if a != "-D" and (i == 0 or argv[i - 1] != "-D")]
        self.options = " ".join(shlex.quote(o) for o in options)

    def _run(self, command: str) -> None:
        # initdb refuses root, so postgres.sh runs the server as the postgres user: so do we.
        argv = ["sh", "-c", command]
        if os.geteuid() == 0:
            argv = ["su", "postgres", "-s", "/bin/sh", "-c", command]
        subprocess.run(argv, check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        """Fast shutdown: sessions are cut, as when a database host goes away."""
        self._run(f"{self.pg_ctl} -D {self.data} -m fast -w stop")

    def start(self) -> None:
        """Start it again with the options it had."""
        self._run(
            f"{self.pg_ctl} -D {self.data} -l {self.log} -w -o {shlex.quote(self.options)} start"
        )


async def run_faults(options: argparse.Namespace, load: Load) -> list[Phase]:
    """Baseline, then each fault in turn once the service has recovered from the last."""
    phases = [Phase("baseline", load.now())]
    await asyncio.sleep(options.baseline_s)
    postgres = Postgres(options.pg_dir) if "database" in options.faults else None
    for fault in options.faults:
        phases[-1].ended = load.now()
        phase = Phase(fault, load.now())
        phases.append(phase)
        if fault == "estimator":
            pid = kill_replica(options.root, options.estimator)
            print(f"[{phase.began:7.1f} s] killed {options.estimator} replica pid {pid}")
        elif fault == "ingress":
            pid = kill_replica(options.root, "Ingress")
            print(f"[{phase.began:7.1f} s] killed Ingress replica pid {pid}")
        elif fault == "database":
            assert postgres is not None
            await asyncio.to_thread(postgres.stop)
            print(f"[{load.now():7.1f} s] PostgreSQL stopped")
            await asyncio.sleep(options.down_s)
            await asyncio.to_thread(postgres.start)
            phase.restored = load.now()
            print(f"[{phase.restored:7.1f} s] PostgreSQL started")
        else:
            raise ValueError(f"unknown fault {fault!r}")
        since = phase.restored or phase.began
        deadline = load.now() + options.recover_timeout_s
        while load.now() < deadline and not load.succeeded_since(since, options.recovered_after):
            await asyncio.sleep(0.5)
        if fault in ("estimator", "ingress"):
            # Ray must have put a new replica up; a hung restart would show here.
            while load.now() < deadline and not replica_pids(options.root, _target(options, fault)):
                await asyncio.sleep(0.5)
            now = replica_pids(options.root, _target(options, fault))
            print(f"[{load.now():7.1f} s] replicas now: {now}")
        await asyncio.sleep(options.settle_s)
    phases[-1].ended = load.now()
    load.stop.set()
    return phases


def _target(options: argparse.Namespace, fault: str) -> str:
    return options.estimator if fault == "estimator" else "Ingress"


def _ms(values: list[float]) -> str:
    if not values:
        return "-"
    values = sorted(v * 1000 for v in values)
    return f"{statistics.median(values):.0f}/{values[-1]:.0f}"


def report_phase(phase: Phase, outcomes: list[Outcome]) -> dict:
    """Print one phase's figures; returns them."""
    # A request belongs to the phase it ended in: one in flight when a replica dies fails
    # because of that fault, not of the phase it started in.
    mine = [o for o in outcomes if phase.began <= o.end < phase.ended]
    failed = [o for o in mine if not o.ok]
    by_label = Counter(f"{o.route} {o.label}" for o in failed)
    recovered = None
    if failed:
        last = max(o.start for o in failed)
        after = [o.end for o in mine if o.ok and o.start >= last]
        recovered = min(after) - phase.began if after else None
    print(
        f"\n== {phase.name}: {phase.ended - phase.began:.0f} s, {len(mine)} requests, "
        f"{len(failed)} failed"
    )
    for label, count in sorted(by_label.items()):
        latencies = [o.end - o.start for o in failed if f"{o.route} {o.label}" == label]
        print(f"   {count:5d} x {label:<28} latency p50/max ms {_ms(latencies)}")
    for route in ("events", "sdk"):
        ok = [o.end - o.start for o in mine if o.route == route and o.ok]
        print(f"   {route:<6} ok {len(ok):5d}, latency p50/max ms {_ms(ok)}")
    if failed:
        first = min(o.start for o in failed) - phase.began
        last_end = max(o.end for o in failed) - phase.began
        rec = f"{recovered:.1f} s" if recovered is not None else "not within the phase"
        print(
            f"   failed requests span {first:+.1f} s (first start) to {last_end:+.1f} s (last "
            f"end) from the fault; requests succeed again +{rec} after it"
        )
    if phase.restored is not None:
        down = [o for o in mine if o.start < phase.restored]
        labels = Counter(f"{o.route} {o.label}" for o in down)
        print(
            f"   while the database was down ({phase.restored - phase.began:.1f} s): {dict(labels)}"
        )
        print(
            f"   latency of failures started while down, p50/max ms "
            f"{_ms([o.end - o.start for o in down if not o.ok])}"
        )
        if recovered is not None:
            print(
                f"   succeed again {recovered - (phase.restored - phase.began):.1f} s after "
                f"the database was started"
            )
    return {
        "phase": phase.name,
        "requests": len(mine),
        "failed": dict(by_label),
        "recovered_s": recovered,
    }


async def integrity(database_url: str, data_dir: Path, account: str, acked: set[str]) -> int:
    """Check the run's account in the database; the number of problems found."""
    engine = create_async_engine(database_url)
    problems = 0
    try:
        async with engine.connect() as db:

            async def rows(sql: str) -> list:
                return list((await db.execute(text(sql), {"a": account})).all())

            events = await rows("SELECT event_id, face_id, body FROM events WHERE account_id = :a")
            faces = await rows("SELECT face_id, samples FROM faces WHERE account_id = :a")
            samples = await rows("SELECT sample_id FROM samples WHERE account_id = :a")
            bare_faces = await rows(
                "SELECT f.face_id FROM faces f LEFT JOIN face_descriptors d "
                "ON d.face_id = f.face_id WHERE f.account_id = :a AND d.face_id IS NULL"
            )
    finally:
        await engine.dispose()
    event_ids = {e.event_id for e in events}
    face_ids = {f.face_id for f in faces}
    sample_ids = {s.sample_id for s in samples}
    lost = acked - event_ids
    dangling = set()
    for e in events:
        body = e.body if isinstance(e.body, dict) else {}
        named = {e.face_id, (body.get("face") or {}).get("face_id")} - {None}
        if named - face_ids:
            dangling.add(e.event_id)
    face_samples_missing = {f.face_id for f in faces if set(f.samples or []) - sample_ids}
    root = data_dir / "blobs" / "faces" / account
    no_file = {s for s in sample_ids if not (root / s[:2] / s).is_file()}
    files = (
        {p.name for p in root.glob("*/*") if not p.name.startswith(".")} if root.is_dir() else set()
    )
    orphans = files - sample_ids
    print(f"\n== integrity (account {account})")
    print(
        f"   stored: {len(events)} events, {len(faces)} faces, {len(samples)} samples; "
        f"{len(acked)} events answered 201"
    )
    for name, found in (
        ("events answered 201 missing from the database", lost),
        ("events naming a face that does not exist", dangling),
        ("faces without a descriptor", {f.face_id for f in bare_faces}),
        ("faces naming a sample row that does not exist", face_samples_missing),
        ("sample rows without their image file", no_file),
    ):
        problems += len(found)
        shown = f" e.g. {sorted(found)[:3]}" if found else ""
        print(f"   {len(found):5d} {name}{shown}")
    print(f"   {len(orphans):5d} sample files without a row (allowed: image written first)")
    # A request can commit and then lose its answer (e.g. the ingress dies after the commit):
    # the client sees a failure and may send it again. Not a loss; counted to be seen.
    unanswered = event_ids - acked
    print(
        f"   {len(unanswered):5d} events stored whose request got no 201 (committed, answer lost)"
    )
    return problems


async def main_async(options: argparse.Namespace) -> int:
    """The run: load, faults, report, integrity check."""
    # The service's `serve run` names its run config, which lies in its data directory.
    options.root = serve_run_pid(str(options.data_dir.resolve()))
    account = str(uuid.uuid4())
    handler_id = create_handler(options.url, account)
    photos = load_photos()
    load = Load(options.url, account, handler_id, photos)
    print(
        f"account {account}, handler {handler_id}, {len(photos)} photos, "
        f"{options.events_clients} events + {options.sdk_clients} sdk clients"
    )
    clients = [
        load.client("events", i, options.max_requests, options.request_timeout_s)
        for i in range(options.events_clients)
    ] + [
        load.client("sdk", i, options.max_requests, options.request_timeout_s)
        for i in range(options.sdk_clients)
    ]
    tasks = [asyncio.create_task(c) for c in clients]
    try:
        phases = await asyncio.wait_for(run_faults(options, load), timeout=options.max_s)
    finally:
        load.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    for phase in phases:
        report_phase(phase, load.outcomes)
    acked = {
        i for o in load.outcomes if o.route == "events" and o.status == 201 for i in o.event_ids
    }
    problems = await integrity(options.database_url, options.data_dir, account, acked)
    print(f"\nintegrity problems: {problems}")
    return 1 if problems else 0


def main() -> int:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5090")
    parser.add_argument("--data-dir", type=Path, required=True, help="the service's data dir")
    parser.add_argument("--database-url", required=True, help="the service's database URL")
    parser.add_argument("--pg-dir", type=Path, help="LUNA_PG_DIR of scripts/postgres.sh")
    parser.add_argument("--faults", default="estimator,ingress,database")
    parser.add_argument("--estimator", default="face_descriptor")
    parser.add_argument("--events-clients", type=int, default=2)
    parser.add_argument("--sdk-clients", type=int, default=2)
    parser.add_argument("--baseline-s", type=float, default=20)
    parser.add_argument("--down-s", type=float, default=10, help="database down this long")
    parser.add_argument("--settle-s", type=float, default=15, help="load after recovery")
    parser.add_argument("--recovered-after", type=int, default=3, help="successes a route needs")
    parser.add_argument("--recover-timeout-s", type=float, default=180)
    parser.add_argument("--request-timeout-s", type=float, default=150)
    parser.add_argument("--max-s", type=float, default=900, help="the whole run at most")
    parser.add_argument("--max-requests", type=int, default=20000)
    options = parser.parse_args()
    options.faults = [f for f in options.faults.split(",") if f]
    if "database" in options.faults and options.pg_dir is None:
        parser.error("--pg-dir is needed for the database fault")
    return asyncio.run(main_async(options))


if __name__ == "__main__":
    sys.exit(main())
