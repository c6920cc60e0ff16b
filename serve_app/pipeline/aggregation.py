"""Aggregation's rule for images: with ``aggregate_attributes=1`` every image shows the one
person whose samples are aggregated (the values themselves: serve_app.estimations.aggregation)."""

from __future__ import annotations

from serve_app.errors import MULTIPLE_FACES, LunaError
from serve_app.pipeline.faces import ImageResult


def single_faces(results: list[ImageResult]) -> None:
    """Aggregation takes one face per image: an image with several fails with 11038."""
    for result in results:
        if result.error is None and len(result.faces) > 1:
            result.error = LunaError(MULTIPLE_FACES, result.filename, len(result.faces))
            result.faces = []
