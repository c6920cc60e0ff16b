"""Descriptors: the ArcFace adapter, the SDK descriptor container, aggregation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from models import descriptor_format
from models.face.age_gender import AgeGender
from models.face.arcface import Descriptor
from serve_app.estimations.aggregation import aggregate_basic_attributes, aggregate_descriptors

OBAMA = ("obama.jpg", "obama2.jpg", "obama3.jpg")


def test_descriptors_are_unit_vectors_and_do_not_depend_on_the_batch(extractor, warps):
    group = warps("group_six.jpg")
    together = extractor.extract(group)
    assert together.vectors.shape == (6, 512) and together.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(together.vectors, axis=1), 1.0, atol=1e-5)
    for i, warp in enumerate(group):
        alone = extractor.extract([warp])
        assert float(alone.vectors[0] @ together.vectors[i]) > 0.9999


def test_one_person_in_three_photos_against_everyone_else(extractor, warps):
    obama = extractor.extract([warps(name)[0] for name in OBAMA]).vectors
    others = extractor.extract(
        warps("group_six.jpg") + warps("biden.jpg") + warps("astronaut.png")
    ).vectors
    threshold = extractor.verification_threshold
    genuine = [extractor.similarity(a @ b) for a, b in itertools.combinations(obama, 2)]
    impostor = [extractor.similarity(a @ b) for a in obama for b in others]
    impostor += [extractor.similarity(a @ b) for a, b in itertools.combinations(others, 2)]
    assert min(genuine) > 0.99 > threshold > 0.2 > max(impostor)


def test_score_separates_faces_from_other_things(extractor, warps, photo):
    faces = extractor.extract(warps("group_six.jpg") + warps("obama.jpg"))
    crops = [photo("coffee.png")[y : y + 250, x : x + 250] for y in (0, 100) for x in (0, 150, 300)]
    junk = extractor.extract(crops)
    assert faces.scores.min() > 0.9 and junk.scores.max() < 0.2


def test_similarity_mapping_is_monotonic_and_bounded(extractor):
    cosines = np.linspace(-1, 1, 201)
    similarity = extractor.similarity(cosines)
    assert np.all(np.diff(similarity) > 0)
    assert similarity.min() >= 0 and similarity.max() <= 1
    assert extractor.similarity(extractor.similarity_center) == pytest.approx(0.5)


def test_sdk_descriptor_container_round_trips_and_refuses_other_bytes():
    vector = np.random.default_rng(1).normal(size=512).astype(np.float32)
    vector /= np.linalg.norm(vector)
    blob = descriptor_format.pack(vector, 1001)
    assert blob[:4] == b"LSDD" and len(blob) == 12 + 4 * 512
    unpacked, version = descriptor_format.unpack(blob)
    np.testing.assert_allclose(unpacked, vector, atol=1e-7)
    assert version == 1001
    np.testing.assert_allclose(
        descriptor_format.from_raw(descriptor_format.raw(vector), 512), vector
    )
    for bad in (b"XXXX" + blob[4:], blob[:-4], blob[:8]):
        with pytest.raises(descriptor_format.DescriptorFormatError):
            descriptor_format.unpack(bad)
    with pytest.raises(descriptor_format.DescriptorFormatError):
        descriptor_format.from_raw(np.zeros(512, np.float32).tobytes(), 512)
    with pytest.raises(descriptor_format.DescriptorFormatError):
        descriptor_format.from_raw(b"\x00" * 12, 512)


def test_aggregated_descriptor_stands_for_every_sample(extractor, warps):
    samples = extractor.extract([warps(name)[0] for name in OBAMA]).items()
    aggregated = aggregate_descriptors(samples)
    assert aggregated.version == samples[0].version
    assert abs(np.linalg.norm(aggregated.vector) - 1) < 1e-5
    for sample in samples:
        # Closer to each sample than the samples are to each other, on average.
        others = [float(sample.vector @ o.vector) for o in samples if o is not sample]
        assert float(aggregated.vector @ sample.vector) > np.mean(others)
    with pytest.raises(ValueError, match="versions"):
        aggregate_descriptors([samples[0], Descriptor(samples[1].vector, 0.9, 7)])
    assert aggregate_descriptors([]) is None
    mean = aggregate_basic_attributes([AgeGender(40, 1.0), AgeGender(50, 0.8)])
    assert mean == AgeGender(45, 0.9)
