"""JSON shapes of results, as LUNA clients read them.

Rects and landmarks are whole pixels: LUNA's own client models declare them as integers,
and a typed client (e.g. Kotlin/Moshi) rejects a fractional value for an int field.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from models import descriptor_format
from models.face.age_gender import AgeGender
from models.face.arcface import Descriptor
from models.face.head_pose import HeadPose
from models.face.image_quality import ImageQuality
from serve_app.errors import SUCCESS
from serve_app.pipeline.faces import Face, FilterReason, ImageResult
from serve_app.storage.samples import encode, sample_url

SUCCESS_ERROR = {"error_code": SUCCESS.code, "desc": SUCCESS.desc, "detail": SUCCESS.detail}


def rect(box: np.ndarray) -> dict[str, int]:
    """``{x, y, width, height}`` of an (x1, y1, x2, y2) box."""
    x, y = round(float(box[0])), round(float(box[1]))
    return {
        "x": x,
        "y": y,
        "width": round(float(box[2])) - x,
        "height": round(float(box[3])) - y,
    }


def points(values: np.ndarray) -> list[list[int]]:
    """``[[x, y], ...]`` of an (N, 2) array."""
    return [[round(float(x)), round(float(y))] for x, y in values]


def quality(value: ImageQuality) -> dict[str, float]:
    """LUNA's ``quality`` object; every value in [0, 1], 1 is good."""
    return {
        "blurriness": value.blurriness,
        "dark": value.dark,
        "illumination": value.illumination,
        "specularity": value.specularity,
        "light": value.light,
    }


def head_pose(value: HeadPose) -> dict[str, float]:
    """``{pitch, roll, yaw}`` in degrees."""
    return {
        "pitch": round(value.pitch, 2),
        "roll": round(value.roll, 2),
        "yaw": round(value.yaw, 2),
    }


def basic_attributes(value: AgeGender) -> dict[str, Any]:
    """``{age, gender}``: whole years, 0 female / 1 male. No ethnicity: no model for it."""
    return value.rounded()


def descriptor(value: Descriptor) -> dict[str, Any]:
    """The descriptor as an SDK descriptor container and raw bytes, both base64."""
    return {
        "sdk_descriptor": _b64(descriptor_format.pack(value.vector, value.version)),
        "raw_descriptor": _b64(descriptor_format.raw(value.vector)),
        "score": round(value.score, 6),
        "version": value.version,
    }


def warp(image: np.ndarray) -> str:
    """A face warp as base64 JPEG, encoded as samples are stored."""
    return _b64(encode(image))


def filter_reason(reason: FilterReason) -> dict[str, Any]:
    """Why a face was filtered."""
    return {
        "filter_name": reason.filter_name,
        "object_value": round(float(reason.object_value), 6),
        "threshold_value": reason.threshold_value,
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


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
    """The ``detection`` object of one face in /1/detector's answer."""
    out: dict[str, Any] = {"rect": rect(face.box)}
    if face.landmarks5 is not None:
        out["landmarks5"] = points(face.landmarks5)
    if face.score is not None:
        out["score"] = round(face.score, 6)
    if face.landmarks68 is not None:
        out["landmarks68"] = points(face.landmarks68)
    if face.quality is not None:
        out["quality"] = quality(face.quality)
    if face.head_pose is not None:
        out["attributes"] = {"head_pose": head_pose(face.head_pose)}
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


# /1/sdk


def sdk_face(face: Face, landmarks5: bool, with_warp: bool) -> dict[str, Any]:
    """One face of /1/sdk's ``estimations``: its detection and its attributes."""
    detection: dict[str, Any] = {"rect": rect(face.box)}
    if face.score is not None:
        detection["score"] = round(face.score, 6)
    if landmarks5 and face.landmarks5 is not None:
        detection["landmarks5"] = points(face.landmarks5)
    if face.landmarks68 is not None:
        detection["landmarks68"] = points(face.landmarks68)
    if face.quality is not None:
        detection["quality"] = quality(face.quality)
    if with_warp and face.warp is not None:
        detection["warp"] = warp(face.warp)
    attributes: dict[str, Any] = {}
    if face.head_pose is not None:
        attributes["head_pose"] = head_pose(face.head_pose)
    if face.basic_attributes is not None:
        attributes["basic_attributes"] = basic_attributes(face.basic_attributes)
    if face.descriptor is not None:
        attributes["descriptor"] = descriptor(face.descriptor)
    return _with_sample(face, {"detection": detection, "attributes": attributes})


def _with_sample(face: Face, out: dict[str, Any]) -> dict[str, Any]:
    """Add the face's stored sample, if it has one."""
    if face.sample_id is not None:
        out["sample_id"] = face.sample_id
        out["url"] = sample_url(face.sample_id)
    return out


def sdk_image(result: ImageResult, landmarks5: bool, with_warp: bool) -> dict[str, Any]:
    """One entry of /1/sdk's ``images_estimations``."""
    out = image_status(result)
    if result.error is None:
        out["estimations"] = [{"face": sdk_face(f, landmarks5, with_warp)} for f in result.faces]
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


def aggregate_estimations(
    descriptor_value: Descriptor | None, attributes: AgeGender | None
) -> dict[str, Any]:
    """``aggregate_estimations`` of /1/sdk."""
    out: dict[str, Any] = {}
    if descriptor_value is not None:
        out["descriptor"] = descriptor(descriptor_value)
    if attributes is not None:
        out["basic_attributes"] = basic_attributes(attributes)
    return {"face": {"attributes": out}}
