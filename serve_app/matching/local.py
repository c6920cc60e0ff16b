"""The matcher with its shards in this process (tests, a single-process service)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import numpy as np

from models.matching import CandidateFilter, IndexConfig, ShardServer
from serve_app.matching.api import FaceMatch, Matcher
from serve_app.matching.loader import iter_pages, read_faces
from serve_app.matching.settings import MatcherSettings
from serve_app.storage.db import Database

log = logging.getLogger(__name__)


class LocalMatcher(Matcher):
    """``settings.shards`` shards as :class:`ShardServer` objects, searched concurrently
    (faiss releases the GIL, so shards do use several cores) and merged into one top-k."""

    def __init__(
        self, database: Database, settings: MatcherSettings, descriptor_version: int, dims: int
    ) -> None:
        super().__init__(descriptor_version, dims)
        self.database = database
        self.settings = settings
        payload = settings.shard_settings(database.url, descriptor_version, dims)
        config = IndexConfig.from_mapping(payload["index"])
        self.servers = [ShardServer(config, i, settings.shards) for i in range(settings.shards)]

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

    async def _search_shards(
        self, account_id: str, queries: np.ndarray, candidates: CandidateFilter, limit: int
    ) -> list[list[list[FaceMatch]]]:
        """The in-process shards, searched concurrently (faiss releases the GIL)."""
        return await asyncio.gather(
            *(s.search(account_id, queries, candidates, limit) for s in self.servers)
        )

    async def refresh_faces(self, account_id: str, face_ids: Sequence[str]) -> None:
        """Read the faces and hand each shard its part."""
        rows, removals = await read_faces(
            self.database, account_id, face_ids, self.descriptor_version, self.dims
        )
        await asyncio.gather(*(s.apply(rows, removals) for s in self.servers))
