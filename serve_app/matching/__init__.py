"""Face matching for the ingress: the :class:`Matcher` interface, its in-process and Ray
transports, and the database loader (the index itself is ``models.matching``)."""

from serve_app.matching.api import FaceMatch, Matcher, candidate_filter
from serve_app.matching.loader import iter_pages, load_pages, read_faces
from serve_app.matching.local import LocalMatcher
from serve_app.matching.ray import RayMatcher
from serve_app.matching.settings import MatcherSettings, shard_name

__all__ = [
    "FaceMatch",
    "LocalMatcher",
    "Matcher",
    "MatcherSettings",
    "RayMatcher",
    "candidate_filter",
    "iter_pages",
    "load_pages",
    "read_faces",
    "shard_name",
]
