"""JSON of results, as LUNA clients read them.

Where each estimation's value goes and how it is written is its declaration's
(:mod:`serve_app.estimations`); this module lays out detections, samples and images around
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from serve_app.errors import SUCCESS
from serve_app.estimations import BODY_ESTIMATIONS, FACE_ESTIMATIONS, Place, Stage
from serve_app.estimations.face import present_face_quality
from serve_app.pipeline.faces import Body, Face, FilterReason, ImageResult
from serve_app.storage.samples import encode, sample_url
from serve_app.views.values import b64, points, rect

SUCCESS_ERROR = {"error_code": SUCCESS.code, "desc": SUCCESS.desc, "detail": SUCCESS.detail}


def estimations_at(face: Face, place: Place, stages: Sequence[Stage]) -> dict[str, Any]:
    """The face's values that sit at ``place``, of the estimations of ``stages``, by JSON key."""
    return {
        e.json_key: e.present(face.estimations[e.name])
        for e in FACE_ESTIMATIONS
        if e.place is place
        and e.stage in stages
        and e.present is not None
        and face.estimations.get(e.name) is not None
    }


def body_attributes(body: Body) -> dict[str, Any]:
    """The body's estimated attributes, by JSON key."""
    return {
        e.json_key: e.present(body.estimations[e.name])
        for e in BODY_ESTIMATIONS
        if e.present is not None and body.estimations.get(e.name) is not None
    }


def warp(image: np.ndarray) -> str:
    """A face warp as base64 JPEG, encoded as samples are stored."""
    return b64(encode(image))


def filter_reason(reason: FilterReason) -> dict[str, Any]:
    """Why a face was filtered."""
    return {
        "filter_name": reason.filter_name,
        "object_value": round(float(reason.object_value), 6),
        "threshold_value": reason.threshold_value,
    }


def image_status(result: ImageResult) -> dict[str, Any]:
    """``{filename, status, error}`` (and ``exif``) of one input image."""
    out: dict[str, Any] = {"filename": result.filename}
    if result.error is not None:
        out["status"] = 0
        out["error"] = result.error.body
    else:
        out["status"] = 1
        out["error"] = SUCCESS_ERROR
    if result.exif is not None:
        out["exif"] = result.exif
    return out


# /1/detector


def detector_detection(face: Face) -> dict[str, Any]:
    """The ``detection`` object of one face in /1/detector's answer (and in events): its
    place, and the detect step's estimations, attributes under ``attributes``."""
    out: dict[str, Any] = {"rect": rect(face.box)}
    if face.landmarks5 is not None:
        out["landmarks5"] = points(face.landmarks5)
    if face.score is not None:
        out["score"] = round(face.score, 6)
    out.update(estimations_at(face, Place.DETECTION, [Stage.DETECT]))
    if attributes := estimations_at(face, Place.ATTRIBUTES, [Stage.DETECT]):
        out["attributes"] = attributes
    return out


def detector_image(result: ImageResult) -> dict[str, Any]:
    """One entry of ``/1/detector``'s ``images``."""
    out = image_status(result)
    if result.error is None:
        out["detections"] = {
            "samples": [
                {"face": _with_sample(f, {"detection": detector_detection(f)})}
                for f in result.faces
            ],
            "filtered_detections": filtered_detections([result]),
        }
    return out


def filtered_detections(results: list[ImageResult]) -> dict[str, Any]:
    """``filtered_detections``: each face a filter removed, with the filters' reasons."""
    return {
        "face_detections": [
            {
                "detection": {
                    "filename": result.filename,
                    "sample": {"detection": detector_detection(face)},
                },
                "filter_reasons": [filter_reason(r) for r in face.filter_reasons],
            }
            for result in results
            for face in result.filtered
        ]
    }


# /1/iso


def iso_image(result: ImageResult) -> dict[str, Any]:
    """One entry of /1/iso's ``images``: each face's box and its ISO checks under ``iso``."""
    out = image_status(result)
    if result.error is None:
        out["estimations"] = [
            {
                "face": {
                    "detection": {
                        "rect": rect(face.box),
                        "iso": present_face_quality(face.estimations["face_quality"]),
                    }
                }
            }
            for face in result.faces
        ]
    return out


# /1/sdk


def sdk_face(face: Face, landmarks5: bool, with_warp: bool) -> dict[str, Any]:
    """One face of /1/sdk's ``estimations``: its detection and its attributes."""
    detection: dict[str, Any] = {"rect": rect(face.box)}
    if face.score is not None:
        detection["score"] = round(face.score, 6)
    if landmarks5 and face.landmarks5 is not None:
        detection["landmarks5"] = points(face.landmarks5)
    detection.update(estimations_at(face, Place.DETECTION, list(Stage)))
    if with_warp and face.warp is not None:
        detection["warp"] = warp(face.warp)
    attributes = estimations_at(face, Place.ATTRIBUTES, list(Stage))
    return _with_sample(face, {"detection": detection, "attributes": attributes})


def _with_sample(face: Face, out: dict[str, Any]) -> dict[str, Any]:
    """Add the face's stored sample, if it has one."""
    if face.sample_id is not None:
        out["sample_id"] = face.sample_id
        out["url"] = sample_url(face.sample_id)
    return out


def sdk_body(body: Body, with_warp: bool) -> dict[str, Any]:
    """One body of /1/sdk's ``estimations``: its detection and its attributes."""
    detection: dict[str, Any] = {"rect": rect(body.box)}
    if body.score is not None:
        detection["score"] = round(body.score, 6)
    if with_warp and body.warp is not None:
        detection["warp"] = warp(body.warp)
    out: dict[str, Any] = {"detection": detection, "attributes": body_attributes(body)}
    if body.sample_id is not None:
        out["sample_id"] = body.sample_id
    return out


def sdk_estimations(
    result: ImageResult, landmarks5: bool, face_warps: bool, body_warps: bool
) -> list[dict[str, Any]]:
    """One estimation per person: a face with its body, then the bodies without a face."""
    out: list[dict[str, Any]] = []
    for face in result.faces:
        person: dict[str, Any] = {"face": sdk_face(face, landmarks5, face_warps)}
        if face.body is not None:
            person["body"] = sdk_body(face.body, body_warps)
        out.append(person)
    out += [{"body": sdk_body(b, body_warps)} for b in result.lone_bodies]
    return out


def sdk_image(
    result: ImageResult, landmarks5: bool, with_warp: bool, body_warps: bool = False
) -> dict[str, Any]:
    """One entry of /1/sdk's ``images_estimations``."""
    out = image_status(result)
    if result.error is None:
        out["estimations"] = sdk_estimations(result, landmarks5, with_warp, body_warps)
        out["filtered_estimations"] = {
            "faces": [
                {
                    "face": sdk_face(f, landmarks5, with_warp),
                    "filter_reasons": [filter_reason(r) for r in f.filter_reasons],
                }
                for f in result.filtered
            ]
        }
    return out


def aggregate_estimations(faces: Sequence[Face]) -> dict[str, Any]:
    """``aggregate_estimations`` of /1/sdk: each aggregable attribute of ``faces`` as one."""
    out: dict[str, Any] = {}
    for e in FACE_ESTIMATIONS:
        if e.aggregate is None or e.present is None or e.place is not Place.ATTRIBUTES:
            continue
        values = [f.estimations[e.name] for f in faces if f.estimations.get(e.name) is not None]
        if values and (merged := e.aggregate(values)) is not None:
            out[e.json_key] = e.present(merged)
    return {"face": {"attributes": out}}
