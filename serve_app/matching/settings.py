"""The ``matcher:`` block of the application settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MatcherSettings(BaseModel):
    """How faces are matched: shards, the index kind and its parameters, loading.

    One shard deployment per shard, with one replica or more (``num_replicas`` of its
    deployment): every replica follows the face change feed, polling it every
    ``follow_interval_s`` (docs/matching.md). ``exact_below``: an account's faces (or a filter's
    selection) up to this many are searched exactly; above, with the ``index`` kind:
    ``fastscan`` (every face as a 4-bit PQ code, the best ``refine`` re-ranked exactly) or
    IVF (``nlist`` cells, 0 = about 4*sqrt(n); ``nprobe`` cells searched). ``large_vectors``:
    the precision of the vectors of accounts above ``exact_below`` (float16 halves a large
    shard's memory).
    """

    model_config = ConfigDict(extra="forbid")

    shards: int = Field(1, ge=1, le=256)
    exact_below: int = Field(50_000, ge=1)
    index: Literal["fastscan", "ivf_sq8", "ivf", "flat"] = "fastscan"
    refine: int = Field(2500, ge=10, le=100_000)
    nlist: int = Field(0, ge=0)
    nprobe: int = Field(512, ge=1)
    rerank: int = Field(4, ge=1, le=100)
    threads: int = Field(1, ge=1, le=64)
    large_vectors: Literal["float16", "float32"] = "float16"
    follow_interval_s: float = Field(0.25, gt=0, le=60)
    page_size: int = Field(5000, ge=100, le=30_000)
    load_timeout_s: float = Field(3600.0, gt=0)

    def shard_settings(self, database_url: str, descriptor_version: int, dims: int) -> dict:
        """The settings dict a shard deployment is bound with: ``index`` configures
        ``models.matching.IndexConfig``, ``loader`` is what ``loader.load_pages`` reads."""
        return {
            "index": {
                "descriptor_version": descriptor_version,
                "dims": dims,
                "exact_below": self.exact_below,
                "index": self.index,
                "nlist": self.nlist,
                "nprobe": self.nprobe,
                "rerank": self.rerank,
                "refine": self.refine,
                "threads": self.threads,
                "large_vectors": self.large_vectors,
            },
            "follow_interval_s": self.follow_interval_s,
            "loader": {
                "database_url": database_url,
                "descriptor_version": descriptor_version,
                "dims": dims,
                "page_size": self.page_size,
            },
        }


def shard_name(index: int) -> str:
    """The deployment name of shard ``index`` (its config block in serve_config.yaml)."""
    return f"matcher_shard_{index}"
