"""CPU an idle service uses: the whole machine's, and each process of the service's.

Run it against a service that gets no requests (``bash scripts/run-service.sh`` in another
shell, then wait for its health check)::

    python bench/idle_cpu.py --seconds 30

It prints the machine's busy time and each replica's, the proxy's, the controller's, the
raylet's and the GCS's, as % of one core, from ``/proc`` (Linux). docs/performance.md has
the figures and what changes them.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bench.service_processes import serve_run_pid, service_processes

PROC = Path("/proc")
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int | None:
    """User and system clock ticks ``pid`` has used, or None if it is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def machine_ticks() -> tuple[int, int]:
    """All CPUs' clock ticks so far: (total, idle and waiting for I/O)."""
    values = [int(v) for v in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    return sum(values), values[3] + values[4]


def main() -> None:
    """Sample twice, ``--seconds`` apart, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--hint", default="", help="a word of the `serve run` command line")
    options = parser.parse_args()
    processes = service_processes(serve_run_pid(options.hint), daemons=True)
    before = {p.pid: cpu_ticks(p.pid) for p in processes}
    total_before, idle_before = machine_ticks()
    time.sleep(options.seconds)
    total_after, idle_after = machine_ticks()
    total = total_after - total_before
    busy = total - (idle_after - idle_before)
    print(f"machine: {100 * busy / total * os.cpu_count():.1f} % of one core busy "
          f"over {options.seconds:.0f} s ({os.cpu_count()} cores)")  # fmt: skip
    used = []
    for process in processes:
        start, end = before[process.pid], cpu_ticks(process.pid)
        if start is not None and end is not None:
            used.append((100 * (end - start) / TICKS_PER_S / options.seconds, process.label))
    for percent, label in sorted(used, reverse=True):
        print(f"{percent:6.1f} %  {label}")
    print(f"{sum(p for p, _ in used):6.1f} %  the service's processes above, together")


if __name__ == "__main__":
    main()
