"""Assertions about LUNA responses shared by the API and end-to-end tests."""

from __future__ import annotations

from typing import Any

from serve_app.http.protocol import REQUEST_ID_PATTERN
from serve_app.views.schemas import DetectorResponse


def detector_images(response) -> list[dict[str, Any]]:
    """The ``images`` of a successful /1/detector response, checked against its schema."""
    assert response.status_code == 200, response.text
    body = response.json()
    DetectorResponse.model_validate(body)
    return body["images"]


def faces_of(image: dict[str, Any]) -> list[dict[str, Any]]:
    """The face detections of one image entry."""
    assert image["status"] == 1, image
    return [sample["face"]["detection"] for sample in image["detections"]["samples"]]


def assert_faces_at(image: dict[str, Any], centers: list[list[int]]) -> None:
    """One detection per marked face, each box holding exactly one marked center."""
    faces = faces_of(image)
    assert len(faces) == len(centers), (len(faces), centers)
    for face in faces:
        r = face["rect"]
        inside = [
            c
            for c in centers
            if r["x"] <= c[0] <= r["x"] + r["width"] and r["y"] <= c[1] <= r["y"] + r["height"]
        ]
        assert len(inside) == 1, (r, centers)
        assert len(face["landmarks5"]) == 5
        assert 0.5 <= face["score"] <= 1


def assert_luna_error(response, code: int, status: int) -> dict[str, Any]:
    """A LUNA error body with ``code`` and HTTP ``status``, carrying a request id."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_code", "desc", "detail", "link"}, body
    assert body["error_code"] == code, body
    assert REQUEST_ID_PATTERN.match(response.headers["Luna-Request-Id"])
    return body
