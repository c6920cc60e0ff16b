"""Adapters over the provisioned model files, shared by the unit tests."""

from __future__ import annotations

import pytest

from models.face.age_gender import AgeGenderEstimator
from models.face.arcface import ArcFaceExtractor
from models.face.face_align import warp_face
from models.face.head_pose import HeadPoseEstimator
from models.face.landmarks import Landmarks106
from models.face.scrfd import ScrfdDetector
from models.provision.manifest import load_manifest
from serve_app.storage.db import Database


def _adapter(models_dir, cls, name, **extra):
    entry = load_manifest()[name]
    return cls(entry.path(models_dir), **{**entry.options, **extra})


@pytest.fixture(scope="session")
def detector(models_dir) -> ScrfdDetector:
    return _adapter(models_dir, ScrfdDetector, "scrfd_500m_bnkps")


@pytest.fixture(scope="session")
def landmarks(models_dir) -> Landmarks106:
    return _adapter(models_dir, Landmarks106, "insightface_2d106")


@pytest.fixture(scope="session")
def extractor(models_dir) -> ArcFaceExtractor:
    return _adapter(models_dir, ArcFaceExtractor, "arcface_w600k_mbf")


@pytest.fixture(scope="session")
def head_pose(models_dir) -> HeadPoseEstimator:
    return _adapter(models_dir, HeadPoseEstimator, "meanshape_68")


@pytest.fixture(scope="session")
def age_gender(models_dir) -> AgeGenderEstimator:
    gender = load_manifest()["cydral_gender_v1"].path(models_dir)
    return _adapter(models_dir, AgeGenderEstimator, "cydral_age_v1", gender_path=gender)


@pytest.fixture(scope="session")
def faces(detector, photo):
    """``faces(name)``: (image, detections) of a test photo, detections in reading order."""
    cache = {}

    def get(name: str):
        if name not in cache:
            image = photo(name)
            found = sorted(detector.run([image])[0], key=lambda d: d.box[0])
            cache[name] = (image, found)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def warps(faces):
    """``warps(name)``: the 250x250 warps of a photo's faces, left to right."""

    def get(name: str):
        image, found = faces(name)
        return [warp_face(image, d.landmarks5) for d in found]

    return get


@pytest.fixture
async def database(tmp_path):
    """A migrated SQLite database of this test alone."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'luna.db'}")
    await db.migrate()
    yield db
    await db.dispose()
