"""Milliseconds per face (or per image, for detectors) of every estimator, at batch 1 and 16.

Usage::

    .venv/bin/python bench/bench_estimators.py [--config serve_config.yaml] [--opt-in]
        [--rounds 5] [--only emotions,mask]

Each estimator is built from the config as the service builds it (model, options, runtime
threads), in this process, without Ray. Inputs are what the service gives it: face warps,
(image, box) pairs, 68 landmarks, body warps or whole images, cut from the test photos
(tests/data/photos.yaml). A batch is timed with ``prepare`` and ``infer`` together, the best
of ``--rounds`` runs; the figure is the batch's time divided by its items. ``--opt-in`` adds
the opt-in estimators (glasses, eyes, gaze) as docs/estimators.md configures them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.body.body_align import body_warp
from models.face.face_align import warp_face
from models.face.landmarks import to_landmarks68
from models.provision import app_args
from serve_app.estimations import ESTIMATIONS, Input
from serve_app.estimators import build_estimator
from serve_app.settings import Settings
from tests.api.test_face_estimations import OPT_IN
from tests.data.fetch import photo_dir

PHOTOS = ("group_six.jpg", "friends_sunglasses.jpg", "obama.jpg", "frontal_smile.jpg",
          "street_bus.jpg", "basketball_team.jpg")  # fmt: skip


def inputs(settings: Settings) -> dict[str, list[Any]]:
    """Items of every input kind, from the test photos, at least 16 of each."""
    detector = build_estimator(settings, "face_detector")
    landmarks = build_estimator(settings, "face_landmarks")
    bodies = build_estimator(settings, "body_detector")
    items: dict[str, list[Any]] = {"image": [], "warp": [], "image_box": [], "landmarks68": [],
                                   "body_warp": [], "body_box": [], "face": []}  # fmt: skip
    for name in PHOTOS:
        image = cv2.imread(str(photo_dir() / name), cv2.IMREAD_COLOR)
        items["image"].append(image)
        for face in detector.run([image])[0]:
            items["warp"].append(warp_face(image, face.landmarks5))
            items["image_box"].append((image, face.box))
        for body in bodies.run([image])[0]:
            items["body_warp"].append(body_warp(image, body.box))
            items["body_box"].append((image, body.box))
    items["landmarks68"] = [to_landmarks68(p) for p in landmarks.run(items["image_box"][:16])]
    return items


def kind(task: str) -> str:
    """Which input an estimator takes, from the declarations (detectors take images)."""
    if task in ("face_detector", "body_detector"):
        return "image"
    declared = next(e for e in ESTIMATIONS if e.task == task)
    return {
        Input.WARP: "warp",
        Input.IMAGE_BOX: "image_box",
        Input.LANDMARKS68: "landmarks68",
        Input.BODY_WARP: "body_warp",
        Input.BODY_IMAGE_BOX: "body_box",
        Input.FACE: "face",
    }[declared.input]


def best_ms(run: Callable[[list[Any]], Any], batch: list[Any], rounds: int) -> float:
    """Best time of ``rounds`` runs over ``batch``, in ms per item."""
    run(batch)  # warm-up: sessions load, arenas grow
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        run(batch)
        times.append(time.perf_counter() - t0)
    return min(times) * 1000 / len(batch)


def main() -> None:
    """Print ms per item at batch 1 and 16 for each configured estimator."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=Path("serve_config.yaml"))
    parser.add_argument("--opt-in", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default="")
    options = parser.parse_args()
    args = app_args(options.config)[0]
    if options.opt_in:
        args["estimators"] = {**args["estimators"], **OPT_IN}
    settings = Settings.from_args(args)
    items = inputs(settings)
    only = {t for t in options.only.split(",") if t}
    print(f"{'estimator':<18} {'input':<12} {'batch 1 ms':>11} {'batch 16 ms':>12}  per item")
    for task, config in settings.estimators.items():
        if not config.enabled or (only and task not in only) or kind(task) == "face":
            continue
        adapter = build_estimator(settings, task)
        pool = items[kind(task)]
        batch16 = (pool * 16)[:16]
        one = best_ms(adapter.run, pool[:1], options.rounds)
        many = best_ms(adapter.run, batch16, options.rounds)
        print(f"{task:<18} {kind(task):<12} {one:11.2f} {many:12.2f}")


if __name__ == "__main__":
    main()
