"""The processes of a local Ray Serve deployment of this service, found by their titles.

Ray names its worker processes after the actor they host (``setproctitle``), so the service's
processes are visible in ``/proc/<pid>/cmdline`` as:

* ``ray::ServeReplica:<app>:<deployment>``: one per replica (the ingress and each estimator);
* ``ray::ProxyActor``: Ray Serve's HTTP proxy;
* ``ray::ServeController``: Ray Serve's controller.

Two services may run on one machine (each ``serve run`` starts a local Ray of its own), so
only descendants of one ``serve run`` process count: :func:`serve_run_pid` finds it.

Read straight from ``/proc`` (Linux), so that the fault and soak scripts need no ``psutil``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
REPLICA_PREFIX = "ray::ServeReplica:"
OTHER_TITLES = ("ray::ProxyActor", "ray::ServeController")
# Ray's own daemons under the service: a leak there grows the machine's memory just the same.
RAY_DAEMONS = ("raylet", "gcs_server")


@dataclass(frozen=True)
class ServiceProcess:
    """One process of the service: its pid and a stable label (deployment or Ray role)."""

    pid: int
    label: str


def _title(pid: int) -> str:
    """The process title (its command line as shown by ps), or "" if it is gone."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _parent(pid: int) -> int:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descends_from(pid: int, root: int) -> bool:
    while pid > 1:
        if pid == root:
            return True
        pid = _parent(pid)
    return False


def serve_run_pid(hint: str = "") -> int:
    """The pid of the one ``serve run`` process whose command line contains ``hint`` (the
    service's data directory names its run config, e.g. ``/tmp/luna-soak``)."""
    found = [
        int(p.name)
        for p in PROC.iterdir()
        if p.name.isdigit()
        and " run " in (title := _title(int(p.name)))
        and "/serve " in f"{title.split(' run ')[0]} "
        and hint in title
    ]
    if len(found) != 1:
        raise RuntimeError(f"expected one `serve run` with {hint!r}, found pids {found}")
    return found[0]


def service_processes(root: int, app: str = "luna", daemons: bool = False) -> list[ServiceProcess]:
    """Every replica of ``app`` and Ray Serve's proxy and controller now running under the
    ``serve run`` process ``root`` (and, with ``daemons``, Ray's raylet and GCS server).

    A replica's label is its deployment name; several replicas of one deployment get
    ``name#2``, ``name#3`` in pid order.
    """
    found: list[ServiceProcess] = []
    counts: dict[str, int] = {}
    for entry in sorted(PROC.iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else -1):
        if not entry.name.isdigit() or not _descends_from(int(entry.name), root):
            continue
        title = _title(int(entry.name))
        label = None
        prefix = f"{REPLICA_PREFIX}{app}:"
        if title.startswith(prefix):
            # While it runs a task Ray titles it ``...:<deployment>.<method>``.
            label = title[len(prefix) :].split()[0].split(".")[0]
        else:
            label = next((t.split("::")[1] for t in OTHER_TITLES if title.startswith(t)), None)
        if label is None and daemons and title:
            program = Path(title.split()[0]).name
            label = program if program in RAY_DAEMONS else None
        if label is None:
            continue
        counts[label] = counts.get(label, 0) + 1
        if counts[label] > 1:
            label = f"{label}#{counts[label]}"
        found.append(ServiceProcess(int(entry.name), label))
    return found


def replica_pids(root: int, deployment: str, app: str = "luna") -> list[int]:
    """Pids of the replicas of ``deployment`` (exact name) now running under ``root``."""
    return [
        p.pid
        for p in service_processes(root, app)
        if p.label == deployment or p.label.startswith(f"{deployment}#")
    ]


def rss_mib(pid: int) -> float | None:
    """Resident memory of ``pid`` in MiB (VmRSS), or None if the process is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
