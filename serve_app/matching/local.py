"""Matcher shards in this process (tests, a single-process service)."""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from models.matching import CandidateFilter, FaceRow, IndexConfig, ShardServer
from serve_app.matching.api import FaceMatch, Matcher, Shards
from serve_app.matching.loader import iter_pages
from serve_app.matching.settings import MatcherSettings
from serve_app.storage.db import Database

log = logging.getLogger(__name__)


class InProcessShards(Shards):
    """``settings.shards`` shards as :class:`ShardServer` objects, searched concurrently
    (faiss releases the GIL, so shards do use several cores)."""

    def __init__(
        self, database: Database, settings: MatcherSettings, descriptor_version: int, dims: int
    ) -> None:
        self.database = database
        self.settings = settings
        self.descriptor_version = descriptor_version
        self.dims = dims
        payload = settings.shard_settings(database.url, descriptor_version, dims)
        config = IndexConfig.from_mapping(payload["index"])
        self.servers = [ShardServer(config, i, settings.shards) for i in range(settings.shards)]
        self.count = len(self.servers)

    async def start(self) -> None:
        """One pass over the database feeds every shard (each keeps its own faces)."""
        for server in self.servers:
            server.begin_load()
        try:
            async for page in iter_pages(
                self.database, self.descriptor_version, self.dims, self.settings.page_size
            ):
                for server in self.servers:
                    await server.load_page(page)
            indexed = [await server.end_load() for server in self.servers]
        except BaseException as exc:
            for server in self.servers:
                if not server.ready:
                    server.fail_load(exc)
            raise
        log.info("matcher: %d faces indexed in %d shards", sum(indexed), len(self.servers))

    async def search(
        self, account_id: str, queries: np.ndarray, candidates: CandidateFilter, limit: int
    ) -> list[list[list[FaceMatch]]]:
        """Every shard at once."""
        return await asyncio.gather(
            *(s.search(account_id, queries, candidates, limit) for s in self.servers)
        )

    async def apply(self, shard: int, rows: list[FaceRow], removals: list[str]) -> None:
        """Hand shard ``shard`` its changes."""
        await self.servers[shard].apply(rows, removals)


def local_matcher(
    database: Database, settings: MatcherSettings, descriptor_version: int, dims: int
) -> Matcher:
    """A matcher whose shards live in this process."""
    shards = InProcessShards(database, settings, descriptor_version, dims)
    return Matcher(database, shards, descriptor_version, dims)
