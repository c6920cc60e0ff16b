"""What one call to another Ray process costs on this machine: the floor under every
estimator hop of the service.

    .venv/bin/python bench/bench_hop.py

A caller actor calls a replica that does nothing, through a plain Ray actor handle and
through a Serve DeploymentHandle (what the ingress uses), with an argument of 0 bytes, a
warp batch (37 kB, inline in the call) and a detector's letterbox (1.2 MB, through the object
store), back to back and after the caller was idle for 30 ms (as at concurrency 1, where each
deployment idles while the others work). ``send`` is the caller's call to the replica's
method entry (both clocks of one machine), ``round trip`` the whole call.

First, without Ray: the same Python work (JSON and pickle, about 1 ms) back to back and
after the same idle spell, in this process. Where that slows down after idle (cold caches,
a host that clocks idle cores down), every stage of a pipeline whose parts take turns slows
down with it, the model runs in the deployments included; a bare loop that never idles
does not pay it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import time

import numpy as np
import ray
from ray import serve

SIZES = {"0 B": 0, "37 kB": 37_632, "1.2 MB": 1_228_800}


class _Replica:
    async def entered(self, payload: np.ndarray) -> float:
        """When the call arrived."""
        return time.time()


@ray.remote(num_cpus=0)
class _Caller:
    def __init__(self, target: object) -> None:
        self.target = target

    async def measure(self, size: int, gap_s: float, calls: int) -> list:
        """(send, round trip) in seconds of each call but the first few."""
        payload = np.zeros(size, np.uint8)
        rows = []
        for _ in range(calls):
            if gap_s:
                await asyncio.sleep(gap_s)
            start = time.time()
            entered = await self.target.entered.remote(payload)  # either kind of handle
            rows.append((entered - start, time.time() - start))
        return rows[5:]  # the first calls set up connections


def _python_work_ms(gap_s: float, runs: int = 60) -> float:
    """p50 ms of a fixed piece of Python work, each run after ``gap_s`` of sleep."""
    data = json.dumps({"rows": [{f"k{i}": list(range(20)), "s": "x" * 50} for i in range(200)]})
    times = []
    for _ in range(runs):
        time.sleep(gap_s)
        start = time.perf_counter()
        for _ in range(2):
            pickle.loads(pickle.dumps(json.loads(data)))
        times.append(time.perf_counter() - start)
    return float(np.median(times[5:]) * 1e3)


def main() -> None:
    """Print send and round-trip percentiles per handle kind, argument size and idle gap."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    options = parser.parse_args()
    hot, cold = _python_work_ms(0.0), _python_work_ms(0.03)
    print(f"python work, no Ray: {hot:.2f} ms back to back, {cold:.2f} ms after 30 ms idle\n")
    ray.init(include_dashboard=False, logging_level="ERROR")
    actor = ray.remote(num_cpus=0)(_Replica).remote()
    deployment = serve.deployment(_Replica, name="Replica", max_ongoing_requests=64)
    handle = serve.run(
        deployment.options(ray_actor_options={"num_cpus": 0}).bind(),
        name="hop",
        route_prefix=None,
    )
    callers = {"ray actor": _Caller.remote(actor), "serve handle": _Caller.remote(handle)}
    print(f"{'':13}{'argument':>9}{'idle':>7}   send p50   p90   round trip p50   p90  (ms)")
    for kind, caller in callers.items():
        for label, size in SIZES.items():
            for gap_s in (0.0, 0.03):
                rows = np.array(ray.get(caller.measure.remote(size, gap_s, options.calls)))
                send, trip = rows[:, 0] * 1e3, rows[:, 1] * 1e3
                print(
                    f"{kind:13}{label:>9}{gap_s * 1e3:5.0f}ms"
                    f"{np.median(send):11.2f}{np.percentile(send, 90):6.2f}"
                    f"{np.median(trip):17.2f}{np.percentile(trip, 90):6.2f}"
                )
    serve.shutdown()
    ray.shutdown()


if __name__ == "__main__":
    main()
