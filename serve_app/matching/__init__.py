"""Face matching for the ingress: the :class:`Matcher`, the in-process and Ray transports of
its shards, and the database loader (the index itself is ``models.matching``)."""

from serve_app.matching.api import FaceMatch, Matcher, Shards, candidate_filter
from serve_app.matching.loader import iter_pages, load_pages, read_faces
from serve_app.matching.local import InProcessShards, local_matcher
from serve_app.matching.ray import DeployedShards, deployed_matcher
from serve_app.matching.settings import MatcherSettings, shard_name

__all__ = [
    "DeployedShards",
    "FaceMatch",
    "InProcessShards",
    "Matcher",
    "MatcherSettings",
    "Shards",
    "candidate_filter",
    "deployed_matcher",
    "iter_pages",
    "load_pages",
    "local_matcher",
    "read_faces",
    "shard_name",
]
