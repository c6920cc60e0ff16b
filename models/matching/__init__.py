"""Face matching over FAISS: index shards of face descriptors with LUNA's candidate filters.

Pure numpy and faiss: no Ray, no database. ``serve_app.matching`` feeds the shards from the
database and queries them; ``deployments.matcher`` serves one shard as a Ray deployment.
"""

from models.matching.config import IndexConfig
from models.matching.filters import NO_FILTER, CandidateFilter
from models.matching.server import ShardServer
from models.matching.shard import FaceRow, Hit, IndexShard, search_candidates
from models.matching.sharding import shard_of
from models.matching.topk import configure_faiss, exact_topk, merge_topk

__all__ = [
    "NO_FILTER",
    "CandidateFilter",
    "FaceRow",
    "Hit",
    "IndexConfig",
    "IndexShard",
    "ShardServer",
    "configure_faiss",
    "exact_topk",
    "merge_topk",
    "search_candidates",
    "shard_of",
]
