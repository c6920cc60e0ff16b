"""Response shapes, for the OpenAPI document and for tests that check responses against it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(_Shape):
    """LUNA error body."""

    error_code: int = Field(examples=[12012])
    desc: str = Field(examples=["Bad/incomplete input data"])
    detail: str = Field(examples=["Bad query parameters 'multiface_policy'"])
    link: str | None = Field(default=None, description="Page describing the error code")


class Rect(_Shape):
    """Face rectangle in image pixels."""

    x: int
    y: int
    width: int
    height: int


class FaceDetection(_Shape):
    """One detected face."""

    rect: Rect
    landmarks5: list[list[int]] | None = Field(
        default=None,
        description="Eyes, nose tip, mouth corners as [x, y]; absent for face warps",
    )
    score: float | None = Field(default=None, description="Detector confidence in [0, 1]")


class FaceSample(_Shape):
    """A face and (once samples are stored) its sample id and url."""

    detection: FaceDetection
    sample_id: str | None = None
    url: str | None = None


class Sample(_Shape):
    """One detection of an image."""

    face: FaceSample


class FilteredDetections(_Shape):
    """Detections that estimator thresholds filtered out."""

    face_detections: list[dict[str, Any]]


class Detections(_Shape):
    """Detections of one image."""

    samples: list[Sample]
    filtered_detections: FilteredDetections


class DetectorImage(_Shape):
    """Result for one input image."""

    filename: str = Field(description="Part filename for multipart input, else 'Raw Image'")
    status: int = Field(description="1: processed; 0: failed, see error")
    error: Error
    detections: Detections | None = None
    exif: dict[str, Any] | None = Field(default=None, description="With extract_exif=1")


class DetectorResponse(_Shape):
    """``POST /1/detector`` response."""

    images: list[DetectorImage]


class VersionNumbers(_Shape):
    """API and release numbers."""

    api: int
    major: int
    minor: int
    patch: int


class ServiceRelease(_Shape):
    """This service's own release."""

    name: str
    version: str


class VersionResponse(_Shape):
    """``GET /version`` response."""

    Version: VersionNumbers
    service: ServiceRelease


class HealthResponse(_Shape):
    """``GET /healthcheck`` response when healthy."""

    execution_time: float
