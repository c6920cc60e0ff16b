"""Response shapes, for the OpenAPI document and for tests that check responses against it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from serve_app.estimations import BODY_ESTIMATIONS, FACE_ESTIMATIONS, Place, Stage
from serve_app.estimations.face import FaceQualityOut


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


class _DetectionPlace(_Shape):
    rect: Rect
    landmarks5: list[list[int]] | None = Field(
        default=None,
        description="Eyes, nose tip, mouth corners as [x, y]; absent for face warps",
    )
    score: float | None = Field(default=None, description="Detector confidence in [0, 1]")


def _estimations(
    name: str,
    doc: str,
    place: Place,
    stages: list[Stage],
    base: type[BaseModel] = _Shape,
    aggregated: bool = False,
    **fields: Any,
) -> type[BaseModel]:
    """A schema with one optional field per declared estimation that sits at ``place``."""
    declared: dict[str, Any] = {
        e.json_key: (e.schema | None, None)
        for e in FACE_ESTIMATIONS
        if e.place is place
        and e.stage in stages
        and e.present is not None
        and (e.aggregate is not None or not aggregated)
    }
    return create_model(name, __base__=base, __doc__=doc, **declared, **fields)


DetectionAttributes = _estimations(
    "DetectionAttributes",
    "Estimations /1/detector reports inside a detection.",
    Place.ATTRIBUTES,
    [Stage.DETECT],
)
FaceDetection = _estimations(
    "FaceDetection",
    "One detected face.",
    Place.DETECTION,
    [Stage.DETECT],
    base=_DetectionPlace,
    attributes=(DetectionAttributes | None, None),
)


class FilterReason(_Shape):
    """Why a face was filtered out."""

    filter_name: str = Field(examples=["yaw_threshold"])
    object_value: float
    threshold_value: float | list[int] = Field(
        description="The threshold; for a state filter (mask_states), the states allowed"
    )


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


SdkAttributes = _estimations(
    "SdkAttributes", "Face attributes of /1/sdk.", Place.ATTRIBUTES, list(Stage)
)
SdkDetection = _estimations(
    "SdkDetection",
    "Face detection of /1/sdk.",
    Place.DETECTION,
    list(Stage),
    base=_DetectionPlace,
    warp=(str | None, Field(default=None, description="250x250 face warp, base64 JPEG")),
)


class SdkFace(_Shape):
    """One face's detection and attributes, and its stored sample (with Luna-Account-Id)."""

    detection: SdkDetection
    attributes: SdkAttributes
    sample_id: str | None = None
    url: str | None = None


BodyAttributes = create_model(
    "BodyAttributes",
    __base__=_Shape,
    __doc__="Body attributes of /1/sdk.",
    **{e.json_key: (e.schema | None, None) for e in BODY_ESTIMATIONS if e.present is not None},
)


class BodyDetection(_Shape):
    """A detected body."""

    rect: Rect
    score: float | None = Field(default=None, description="Detector confidence in [0, 1]")
    warp: str | None = Field(default=None, description="128x256 body warp, base64 JPEG")


class SdkBody(_Shape):
    """One body's detection and attributes."""

    detection: BodyDetection
    attributes: BodyAttributes
    sample_id: str | None = None


class SdkEstimation(_Shape):
    """One person of an image: a face, its body, or both."""

    face: SdkFace | None = None
    body: SdkBody | None = None


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


AggregateAttributes = _estimations(
    "AggregateAttributes",
    "Attributes aggregated over all faces.",
    Place.ATTRIBUTES,
    list(Stage),
    aggregated=True,
)


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


class IsoDetection(_Shape):
    """A face and its ISO/IEC 19794-5 checks."""

    rect: Rect
    iso: FaceQualityOut


class IsoFace(_Shape):
    """One face of /1/iso."""

    detection: IsoDetection


class IsoEstimation(_Shape):
    """One face's estimation."""

    face: IsoFace


class IsoImage(_Shape):
    """Result for one input image of /1/iso."""

    filename: str
    status: int
    error: Error
    estimations: list[IsoEstimation] | None = None
    exif: dict[str, Any] | None = None


class IsoResponse(_Shape):
    """``POST /1/iso`` response."""

    images: list[IsoImage]
