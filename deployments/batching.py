"""Batch size and wait of a ``@serve.batch`` method, set from the deployment's user_config."""

from __future__ import annotations

from typing import Any

DEFAULT_MAX_BATCH_SIZE = 16
DEFAULT_BATCH_WAIT_S = 0.005


def count_items(calls: list[list[Any]]) -> int:
    """A batch's size in items: each call carries a list of them (e.g. a request's faces)."""
    return sum(len(call) for call in calls)


def configure_batching(batched_method: Any, user_config: dict[str, Any] | None) -> int:
    """Apply ``max_batch_size`` (items) and ``batch_wait_timeout_s`` from ``user_config``;
    returns the batch size in force.

    Unknown keys are an error: a typo in serve_config.yaml should not silently leave the
    defaults in place while someone load-tests a profile.
    """
    config = dict(user_config or {})
    unknown = set(config) - {"max_batch_size", "batch_wait_timeout_s"}
    if unknown:
        raise ValueError(f"unknown user_config keys: {sorted(unknown)}")
    size = int(config.get("max_batch_size", DEFAULT_MAX_BATCH_SIZE))
    wait = float(config.get("batch_wait_timeout_s", DEFAULT_BATCH_WAIT_S))
    if size < 1 or wait < 0:
        raise ValueError("max_batch_size must be >= 1 and batch_wait_timeout_s >= 0")
    batched_method.set_max_batch_size(size)
    batched_method.set_batch_wait_timeout_s(wait)
    return size
