"""Settings of one index shard, read from a plain mapping (the deployment's settings dict)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

INDEX_KINDS = ("fastscan", "ivf_sq8", "ivf", "flat")


@dataclass(frozen=True)
class IndexConfig:
    """How a shard indexes one descriptor version.

    An account's faces are searched exactly (inner product over all its rows) until it holds
    ``exact_below`` descriptors; above that it gets an approximate index, retrained when it
    has grown by ``retrain_growth`` since the last training:

    - ``fastscan``: every row as a 4-bit PQ code (``pq_m`` sub-quantizers, 0 = dims/4, after
      a random rotation), all scanned; the best ``refine`` re-ranked on the float vectors.
    - ``ivf_sq8`` / ``ivf``: IVF cells (``nlist``, 0 = about 4*sqrt(rows); ``nprobe``
      searched) of 8-bit codes, whose best ``rerank * limit`` are re-ranked, or of floats.

    Filters selecting at most ``exact_below`` rows are searched exactly over just those rows.

    ``large_vectors``: the precision of the float vectors of an account above the exact
    threshold (what the approximate index re-ranks on). ``float16`` halves a large shard's
    memory; cosines stay within 1e-4 of float32 and the order of the re-rank is unchanged
    at the precision the codes give. Small accounts (exact search by BLAS) keep float32.
    """

    descriptor_version: int
    dims: int = 512
    exact_below: int = 50_000
    # "fastscan": all rows as 4-bit PQ codes, best candidates re-ranked on the float vectors;
    # "ivf_sq8": IVF over 8-bit codes, re-ranked likewise; "ivf": IVF over the float
    # vectors; "flat": exact only, at any size.
    index: str = "fastscan"
    refine: int = 2500  # fastscan: candidates re-ranked exactly
    pq_m: int = 0  # fastscan: sub-quantizers (0 = dims / 4)
    nlist: int = 0
    nprobe: int = 512
    rerank: int = 4  # ivf_sq8: candidates re-ranked exactly = rerank * limit
    train_points_per_list: int = 40
    retrain_growth: float = 2.0
    threads: int = 1
    blas_threshold: int = 20
    large_vectors: str = "float16"

    def __post_init__(self) -> None:
        if self.index not in INDEX_KINDS:
            raise ValueError(f"matcher index must be one of {INDEX_KINDS}, not {self.index!r}")
        positive = ("dims", "exact_below", "nprobe", "rerank", "refine")
        for name in (*positive, "train_points_per_list", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"matcher {name} must be at least 1")
        if self.pq_m < 0 or (self.pq_m and (self.dims % self.pq_m or self.pq_m % 2)):
            raise ValueError("matcher pq_m must be 0 or an even divisor of dims")
        if self.large_vectors not in ("float16", "float32"):
            raise ValueError("matcher large_vectors must be float16 or float32")
        if self.nlist < 0 or self.retrain_growth <= 1.0:
            raise ValueError("matcher nlist must be >= 0 and retrain_growth > 1")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> IndexConfig:
        """The config from a settings dict; unknown keys are refused (a typo is not silent)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown matcher settings: {', '.join(unknown)}")
        return cls(**dict(values))

    @property
    def half_above(self) -> int | None:
        """Rows above which an account's vectors are held as float16; None: never."""
        if self.large_vectors == "float32" or self.index == "flat":
            return None  # exact search at any size: BLAS needs float32
        return max(self.exact_below, 1024)

    def lists_for(self, rows: int) -> int:
        """IVF cells for an index of ``rows`` descriptors."""
        if self.nlist:
            return self.nlist
        # About 4*sqrt(n), a power of two: cells of ~250 rows at 1M.
        target = max(16, int(4 * rows**0.5))
        return 1 << (target.bit_length() - 1)
