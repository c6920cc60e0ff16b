"""The service's own Prometheus metrics (``luna_*``), beside Ray's, declared in one place.

They are recorded with ``ray.util.metrics`` in the process that observes them (the ingress,
each estimator and matcher replica). Ray's metrics agent on each node exports every process's
metrics on the node's metrics export port, prefixed ``ray_``, next to Ray's own; the
service's ``GET /metrics`` answers its node's page with ours named ``luna_*``
(:func:`node_page`). Outside Ray (tests of plain modules, a process without a cluster)
recording costs a call and records nothing.

A metric object is made on first use in each process: Ray's metric objects belong to the
process that records them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import httpx

#: Seconds buckets of request, inference and search histograms.
SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Items buckets of a model batch.
ITEMS = (1, 2, 4, 8, 16, 32, 64, 128)
RAY_PREFIX = "ray_luna_"


class _Metric:
    """A Ray metric made on first use in this process, when Ray is running here."""

    def __init__(
        self, kind: str, name: str, description: str, tags: Sequence[str],
        buckets: Sequence[float] = (),
    ) -> None:  # fmt: skip
        self.kind, self.name, self.description = kind, name, description
        self.tags, self.buckets = tuple(tags), list(buckets)
        self._made: Any = None
        self._lock = threading.Lock()

    def _metric(self) -> Any:
        if self._made is None:
            import ray

            if not ray.is_initialized():
                return None
            from ray.util import metrics

            with self._lock:
                if self._made is None:
                    options: dict[str, Any] = {"description": self.description,
                                               "tag_keys": self.tags}  # fmt: skip
                    if self.kind == "histogram":
                        options["boundaries"] = self.buckets
                    self._made = getattr(metrics, self.kind.capitalize())(self.name, **options)
        return self._made

    def inc(self, value: float = 1.0, **tags: str) -> None:
        """Add to a counter."""
        if value and (metric := self._metric()) is not None:
            metric.inc(value, tags=tags)

    def observe(self, value: float, **tags: str) -> None:
        """Record one value of a histogram."""
        if (metric := self._metric()) is not None:
            metric.observe(value, tags=tags)

    def set(self, value: float, **tags: str) -> None:
        """Set a gauge."""
        if (metric := self._metric()) is not None:
            metric.set(value, tags=tags)


def counter(name: str, description: str, tags: Sequence[str] = ()) -> _Metric:
    """A counter ``luna_<name>`` (Prometheus adds ``_total``)."""
    return _Metric("counter", f"luna_{name}", description, tags)


def histogram(name: str, description: str, buckets: Sequence[float], tags: Sequence[str] = ()):
    """A histogram ``luna_<name>`` with ``buckets``."""
    return _Metric("histogram", f"luna_{name}", description, tags, buckets)


def gauge(name: str, description: str, tags: Sequence[str] = ()) -> _Metric:
    """A gauge ``luna_<name>``."""
    return _Metric("gauge", f"luna_{name}", description, tags)


# The ingress
REQUESTS = counter("requests", "HTTP requests answered, by route, method and status",
                   ("route", "method", "status"))  # fmt: skip
REQUEST_SECONDS = histogram("request_seconds", "HTTP request latency, by route and method",
                            SECONDS, ("route", "method"))  # fmt: skip
EVENTS_STORED = counter("events_stored", "Events written to the database")
WEBSOCKET_SUBSCRIBERS = gauge("websocket_subscribers",
                              "WebSocket event subscribers of this ingress replica")  # fmt: skip
# Each estimator deployment
BATCH_ITEMS = histogram("estimator_batch_items", "Items per model batch, by estimator",
                        ITEMS, ("estimator",))  # fmt: skip
INFERENCE_SECONDS = histogram("estimator_inference_seconds",
                              "Model time per batch, by estimator", SECONDS,
                              ("estimator",))  # fmt: skip
ITEMS_INFERRED = counter("estimator_items", "Items inferred (rate: items per second)",
                         ("estimator",))  # fmt: skip
# Each matcher shard
SEARCH_SECONDS = histogram("matcher_search_seconds", "Search latency in the shard, by shard",
                           SECONDS, ("shard",))  # fmt: skip
INDEX_FACES = gauge("matcher_index_faces", "Descriptors held by the shard", ("shard",))


async def node_page(timeout_s: float = 5.0) -> str | None:
    """This node's metrics page from Ray's metrics agent, with the service's metrics named
    ``luna_*`` (Ray exports them as ``ray_luna_*``); None outside a Ray cluster."""
    import ray

    if not ray.is_initialized():
        return None
    node_id = ray.get_runtime_context().get_node_id()
    nodes = await asyncio.to_thread(ray.nodes)  # a call to Ray's control store
    agents = [
        (n["NodeManagerAddress"], n["MetricsExportPort"]) for n in nodes if n["NodeID"] == node_id
    ]
    if not agents:
        return None
    host, port = agents[0]
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        response = await client.get(f"http://{host}:{port}/metrics")
        response.raise_for_status()
    return response.text.replace(RAY_PREFIX, "luna_")
