"""Descriptor calibration figures: genuine and impostor similarities, descriptor scores.

Usage: ``.venv/bin/python bench/calibrate_descriptors.py [--config serve_config.yaml]``

Runs the configured detector and descriptor model (no Ray) on the test photos that name the
people in them (``identities`` in tests/data/photos.yaml), forms every pair of faces, and
prints the cosine and LUNA similarity ranges of genuine pairs (one person, independent
photos) and impostor pairs, and where the verification threshold falls. It also prints the
descriptor scores of faces and of non-face crops, which set the score mapping's centre.
The figures in docs/estimators.md come from this script.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.face.face_align import warp_face
from models.provision import app_args
from serve_app.estimators import FACE_DESCRIPTOR, FACE_DETECTOR, build_estimator
from serve_app.settings import Settings
from tests.data.fetch import catalogue, photo_dir


def labelled_faces(detector) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Warps, identities and photo names of every labelled face of the test photos."""
    warps, people, sources = [], [], []
    for name, entry in catalogue().items():
        if not (entry.get("identities") or entry.get("same_person")):
            continue
        image = cv2.imread(str(photo_dir() / name), cv2.IMREAD_COLOR)
        for index, face in enumerate(detector.run([image])[0]):
            who = identity_of(face.box, entry)
            if who is not None:
                warps.append(warp_face(image, face.landmarks5))
                people.append(who)
                # Each face of a collage is its own shot.
                sources.append(f"{name}#{index}" if entry.get("same_person") else name)
    return warps, people, sources


def identity_of(box: np.ndarray, entry: dict) -> str | None:
    """Who the face in ``box`` is, by the photo's hand-marked centers or collage label."""
    if entry.get("same_person"):
        return entry["same_person"]
    x1, y1, x2, y2 = box
    inside = [
        who
        for (x, y), who in zip(entry["centers"], entry["identities"], strict=True)
        if x1 <= x <= x2 and y1 <= y <= y2
    ]
    return inside[0] if len(inside) == 1 else None


def non_faces() -> list[np.ndarray]:
    """250x250 crops of the photos without faces, at a fixed grid."""
    crops = []
    for name, entry in catalogue().items():
        if entry["faces"] == 0:
            image = cv2.imread(str(photo_dir() / name), cv2.IMREAD_COLOR)
            height, width = image.shape[:2]
            for y in range(0, height - 250, 100):
                for x in range(0, width - 250, 150):
                    crops.append(image[y : y + 250, x : x + 250])
    return crops


def main() -> None:
    """Print the calibration figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=Path("serve_config.yaml"))
    settings = Settings.from_args(app_args(parser.parse_args().config)[0])
    detector = build_estimator(settings, FACE_DETECTOR)
    extractor = build_estimator(settings, FACE_DESCRIPTOR)

    warps, people, sources = labelled_faces(detector)
    found = extractor.extract(warps)
    pairs: dict[str, list[float]] = {"genuine, independent photos": [], "genuine, collage": [],
                                     "impostor": []}  # fmt: skip
    for i, j in itertools.combinations(range(len(warps)), 2):
        if sources[i] == sources[j] and people[i] == people[j]:
            continue
        cosine = float(found.vectors[i] @ found.vectors[j])
        if people[i] != people[j]:
            pairs["impostor"].append(cosine)
        elif "#" in sources[i]:
            pairs["genuine, collage"].append(cosine)
        else:
            pairs["genuine, independent photos"].append(cosine)
    print(f"{len(warps)} faces of {len(set(people))} people from {len(set(sources))} shots")
    threshold = extractor.verification_threshold
    for label, values in pairs.items():
        values = np.array(values)
        similarity = extractor.similarity(values)
        above = float((similarity >= threshold).mean())
        cosines = f"cosine {values.min():+.3f} .. {values.max():+.3f}"
        print(
            f"{label:>28}: {len(values):4d} pairs  {cosines}"
            f"  similarity {similarity.min():.4f} .. {similarity.max():.4f}"
            f"  at or above threshold {100 * above:.1f} %"
        )
    print(f"verification threshold {threshold} (similarity)")
    print(
        f"mapping: similarity = 1 / (1 + exp(-(cos - {extractor.similarity_center})"
        f" / {extractor.similarity_width}))"
    )
    crops = non_faces()
    junk = extractor.extract(crops)
    print(
        f"descriptor norm: faces {found.norms.min():.1f} .. {found.norms.max():.1f}, "
        f"{len(crops)} non-face crops {junk.norms.min():.1f} .. {junk.norms.max():.1f}"
    )
    print(
        f"descriptor score: faces {found.scores.min():.3f} .. {found.scores.max():.3f}, "
        f"non-face crops {junk.scores.min():.3f} .. {junk.scores.max():.3f}"
    )


if __name__ == "__main__":
    main()
