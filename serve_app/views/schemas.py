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


class Quality(_Shape):
    """Image quality of the face, each in [0, 1], 1 is good."""

    blurriness: float
    dark: float
    illumination: float
    specularity: float
    light: float


class HeadPose(_Shape):
    """Head rotation in degrees: pitch > 0 chin up, yaw > 0 face turned to the image's
    right, roll > 0 leaning clockwise."""

    pitch: float
    roll: float
    yaw: float


class DetectionAttributes(_Shape):
    """Estimations /1/detector reports inside a detection."""

    head_pose: HeadPose | None = None


class FaceDetection(_Shape):
    """One detected face."""

    rect: Rect
    landmarks5: list[list[int]] | None = Field(
        default=None,
        description="Eyes, nose tip, mouth corners as [x, y]; absent for face warps",
    )
    score: float | None = Field(default=None, description="Detector confidence in [0, 1]")
    landmarks68: list[list[int]] | None = Field(default=None, description="iBUG 68-point markup")
    quality: Quality | None = None
    attributes: DetectionAttributes | None = None


class FilterReason(_Shape):
    """Why a face was filtered out."""

    filter_name: str = Field(examples=["yaw_threshold"])
    object_value: float
    threshold_value: float


class FilteredSample(_Shape):
    """The detection of a filtered face."""

    detection: FaceDetection


class FilteredDetection(_Shape):
    """Where a filtered face was found."""

    filename: str
    sample: FilteredSample


class FilteredFace(_Shape):
    """A face filtered out by a threshold."""

    detection: FilteredDetection
    filter_reasons: list[FilterReason]


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

    face_detections: list[FilteredFace]


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


class BasicAttributes(_Shape):
    """Age in years and gender (0 female, 1 male). No ethnicity: no model for it."""

    age: int
    gender: int


class DescriptorOut(_Shape):
    """A face descriptor: SDK descriptor container and raw float32 bytes, base64."""

    sdk_descriptor: str
    raw_descriptor: str
    score: float = Field(description="Descriptor quality in [0, 1]")
    version: int


class SdkAttributes(_Shape):
    """Face attributes of /1/sdk."""

    head_pose: HeadPose | None = None
    basic_attributes: BasicAttributes | None = None
    descriptor: DescriptorOut | None = None


class SdkDetection(_Shape):
    """Face detection of /1/sdk."""

    rect: Rect
    score: float | None = None
    landmarks5: list[list[int]] | None = None
    landmarks68: list[list[int]] | None = None
    quality: Quality | None = None
    warp: str | None = Field(default=None, description="250x250 face warp, base64 JPEG")


class SdkFace(_Shape):
    """One face's detection and attributes, and its stored sample (with Luna-Account-Id)."""

    detection: SdkDetection
    attributes: SdkAttributes
    sample_id: str | None = None
    url: str | None = None


class SdkEstimation(_Shape):
    """One estimation of an image."""

    face: SdkFace


class SdkFilteredFace(_Shape):
    """A face filtered out by a threshold."""

    face: SdkFace
    filter_reasons: list[FilterReason]


class SdkFiltered(_Shape):
    """Faces filtered out."""

    faces: list[SdkFilteredFace]


class SdkImage(_Shape):
    """Result for one input image of /1/sdk."""

    filename: str
    status: int
    error: Error
    estimations: list[SdkEstimation] | None = None
    filtered_estimations: SdkFiltered | None = None
    exif: dict[str, Any] | None = None


class AggregateAttributes(_Shape):
    """Attributes aggregated over all faces."""

    descriptor: DescriptorOut | None = None
    basic_attributes: BasicAttributes | None = None


class AggregateFace(_Shape):
    """Aggregated face attributes."""

    attributes: AggregateAttributes


class AggregateEstimations(_Shape):
    """``aggregate_estimations`` (with aggregate_attributes=1)."""

    face: AggregateFace


class SdkResponse(_Shape):
    """``POST /1/sdk`` response."""

    images_estimations: list[SdkImage]
    aggregate_estimations: AggregateEstimations | None = None
