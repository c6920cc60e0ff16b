"""One onnxruntime session per model file, created lazily and configured from settings."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


class ModelUnavailableError(RuntimeError):
    """A model file is missing or cannot be loaded on the requested device."""


@dataclass(frozen=True)
class RuntimeOptions:
    """How a session runs. Comes from the estimator's ``runtime`` settings.

    ``allow_spinning`` is off by default: with several sessions sharing few cores, idle
    spinning threads steal the cores the busy session needs.
    """

    device: str = "cpu"
    intra_op_threads: int = 1
    inter_op_threads: int = 1
    allow_spinning: bool = False
    device_id: int = 0
    require_device: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RuntimeOptions:
        """Build options from a settings mapping, rejecting unknown keys."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown runtime options: {sorted(unknown)}")
        options = cls(**data)
        if options.device not in ("cpu", "cuda"):
            raise ValueError(f"runtime device must be 'cpu' or 'cuda', not {options.device!r}")
        return options


class OnnxModel:
    """A model file and its inference session.

    The session is created on first use, under a lock, so that building an adapter is cheap
    (tests, configuration checks) and concurrent first calls load the file once.
    """

    def __init__(self, path: Path | str, options: RuntimeOptions | None = None) -> None:
        self.path = Path(path)
        self.options = options or RuntimeOptions()
        self._session: Any = None
        self._lock = threading.Lock()

    @property
    def session(self) -> Any:
        """The onnxruntime InferenceSession, created on first access."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._create()
        return self._session

    def load(self) -> OnnxModel:
        """Create the session now (e.g. at replica start) instead of on the first request."""
        _ = self.session
        return self

    @property
    def providers(self) -> list[str]:
        """The execution providers the session really uses, best first."""
        return list(self.session.get_providers())

    def input_shape(self) -> list[Any]:
        """Shape of the first input; dynamic axes are strings or None."""
        return list(self.session.get_inputs()[0].shape)

    def output_shapes(self) -> list[list[Any]]:
        """Shapes of all outputs, in graph order."""
        return [list(o.shape) for o in self.session.get_outputs()]

    def run(self, inputs: np.ndarray) -> list[np.ndarray]:
        """Run the graph on one input tensor and return every output."""
        name = self.session.get_inputs()[0].name
        return self.session.run(None, {name: inputs})

    def image_size(self, default: tuple[int, int]) -> tuple[int, int]:
        """(width, height) of the image input (NCHW, or NHWC with 3 channels last): the
        graph's where it fixes them, else ``default``."""
        shape = self.input_shape()
        height, width = (shape[1], shape[2]) if shape[-1] == 3 else (shape[2], shape[3])
        if isinstance(height, int) and isinstance(width, int):
            return width, height
        return default

    def run_first(self, batch: np.ndarray) -> np.ndarray:
        """The first output on a batch; an export whose batch is fixed at 1 (as TFLite
        conversions and some users' exports are) is run one item at a time."""
        if self.input_shape()[0] == 1 and len(batch) > 1:
            return np.concatenate([self.run(batch[i : i + 1])[0] for i in range(len(batch))])
        return self.run(batch)[0]

    def _create(self) -> Any:
        import onnxruntime as ort

        if not self.path.is_file():
            raise ModelUnavailableError(
                f"model file {self.path} is missing; run `python -m models.provision`"
            )
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.options.intra_op_threads
        so.inter_op_num_threads = self.options.inter_op_threads
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Errors only: some exports declare a batch of 1 on outputs and warn on every batch.
        so.log_severity_level = 3
        spin = "1" if self.options.allow_spinning else "0"
        so.add_session_config_entry("session.intra_op.allow_spinning", spin)
        so.add_session_config_entry("session.inter_op.allow_spinning", spin)
        providers: list[Any] = ["CPUExecutionProvider"]
        if self.options.device == "cuda":
            available = ort.get_available_providers()
            if "CUDAExecutionProvider" not in available:
                message = (
                    f"{self.path.name}: device 'cuda' requested but this onnxruntime has no "
                    f"CUDA provider (available: {available}); install the `gpu` extra"
                )
                if self.options.require_device:
                    raise ModelUnavailableError(message)
                log.warning("%s; running on CPU", message)
            else:
                providers.insert(
                    0, ("CUDAExecutionProvider", {"device_id": self.options.device_id})
                )
        session = ort.InferenceSession(str(self.path), sess_options=so, providers=providers)
        used = session.get_providers()
        # onnxruntime-gpu falls back to CPU with only a C++ log line when CUDA cannot start.
        if self.options.device == "cuda" and "CUDAExecutionProvider" not in used:
            message = f"{self.path.name}: CUDA provider failed to start, session uses {used}"
            if self.options.require_device:
                raise ModelUnavailableError(message)
            log.warning(message)
        log.info("loaded %s with providers %s", self.path.name, used)
        return session
