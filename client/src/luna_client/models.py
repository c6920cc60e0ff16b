# Generated from the served OpenAPI document by client/scripts/generate.py.
# ruff: noqa: E501  (long enum literals read better on one line)
"""Pydantic models of every schema of the served OpenAPI document.

Extra fields are kept (``extra='allow'``) so that a newer server does not break an
older client; fields the document names are typed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class LunaModel(BaseModel):
    """Base of every model: JSON names as aliases, extra fields kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class AccountInput(LunaModel):
    """``AccountInput`` of the served document."""

    login: str
    password: str
    account_type: Literal["user", "admin"] = Field(default="user")
    description: str = Field(default="")
    account_id: str | None = Field(default=None)


class AggregateAttributes(LunaModel):
    """``AggregateAttributes`` of the served document."""

    descriptor: DescriptorOut | None = Field(default=None)
    basic_attributes: BasicAttributesOut | None = Field(default=None)
    emotions: EmotionsOut | None = Field(default=None)
    mask: MaskOut | None = Field(default=None)


class AggregateEstimations(LunaModel):
    """``AggregateEstimations`` of the served document."""

    face: AggregateFace


class AggregateFace(LunaModel):
    """``AggregateFace`` of the served document."""

    attributes: AggregateAttributes


class AttributePolicy(LunaModel):
    """``AttributePolicy`` of the served document."""

    store_attribute: int = Field(default=0)
    ttl: int = Field(default=300)
    filters: Filters | None = Field(default=None)


class BasicAttributesInput(LunaModel):
    """``BasicAttributesInput`` of the served document."""

    age: int
    gender: int


class BasicAttributesOut(LunaModel):
    """``BasicAttributesOut`` of the served document."""

    age: int
    gender: int


class BodyAttributes(LunaModel):
    """``BodyAttributes`` of the served document."""

    estimate_basic_attributes: int = Field(default=0)
    estimate_upper_body: int = Field(default=0)
    estimate_lower_body: int = Field(default=0)
    estimate_accessories: int = Field(default=0)


class BodyDescriptorOut(LunaModel):
    """``BodyDescriptorOut`` of the served document."""

    raw_descriptor: str


class BodyDetection(LunaModel):
    """``BodyDetection`` of the served document."""

    rect: Rect
    score: float | None = Field(default=None)
    warp: str | None = Field(default=None)


class BodySamplePolicy(LunaModel):
    """``BodySamplePolicy`` of the served document."""

    store_sample: int = Field(default=1)
    filters: Filters | None = Field(default=None)


class CandidateSet(LunaModel):
    """``CandidateSet`` of the served document."""

    filters: FaceFilters | None = Field(default=None)
    limit: int = Field(default=3)
    threshold: float = Field(default=0.0)


class Candidates(LunaModel):
    """``Candidates`` of the served document."""

    list_id: str | None = Field(default=None)
    face_ids: list[str] | None = Field(default=None)
    external_ids: list[str] | None = Field(default=None)
    user_data: str | None = Field(default=None)
    create_time__gte: str | None = Field(default=None)
    create_time__lt: str | None = Field(default=None)
    face_id__gte: str | None = Field(default=None)
    face_id__lt: str | None = Field(default=None)
    origin: Literal["faces", "events"] = Field(default="faces")
    account_id: str | None = Field(default=None)
    event_ids: list[str] | None = Field(default=None)
    handler_ids: list[str] | None = Field(default=None)
    sources: list[str] | None = Field(default=None)
    tags: list[str] | None = Field(default=None)


class ConditionalTagsPolicy(LunaModel):
    """``ConditionalTagsPolicy`` of the served document."""

    tag: str
    filters: Filters | None = Field(default=None)


class DescriptorEntity(LunaModel):
    """``DescriptorEntity`` of the served document."""

    id: str
    type: Literal["sdk_descriptor", "raw_descriptor", "xpk_file"] = Field(default="sdk_descriptor")
    data: str
    version: int | None = Field(default=None)


class DescriptorInput(LunaModel):
    """``DescriptorInput`` of the served document."""

    sdk_descriptor: str | None = Field(default=None)
    raw_descriptor: str | None = Field(default=None)
    version: int | None = Field(default=None)


class DescriptorOut(LunaModel):
    """``DescriptorOut`` of the served document."""

    sdk_descriptor: str
    raw_descriptor: str
    score: float
    version: int


class DetectPolicy(LunaModel):
    """``DetectPolicy`` of the served document."""

    multiface_policy: int = Field(default=1)
    detect_landmarks68: int = Field(default=0)
    estimate_head_pose: int = Field(default=0)
    estimate_emotions: int = Field(default=0)
    estimate_mask: int = Field(default=0)
    estimate_quality: int = Field(default=0)
    estimate_gaze: int = Field(default=0)
    estimate_eyes_attributes: int = Field(default=0)
    estimate_mouth_attributes: int = Field(default=0)
    estimate_glasses: int = Field(default=0)
    estimate_liveness: EstimateLiveness | None = Field(default=None)
    face_quality: FaceQuality | None = Field(default=None)
    extract_exif: int = Field(default=0)
    pitch_threshold: int | None = Field(default=None)
    roll_threshold: int | None = Field(default=None)
    yaw_threshold: int | None = Field(default=None)
    mask_states: list[Literal[1, 2, 3]] | None = Field(default=None)
    liveness_states: list[Literal[0, 1, 2]] | None = Field(default=None)
    detect_face: int = Field(default=1)
    detect_body: int = Field(default=0)
    body_attributes: BodyAttributes | None = Field(default=None)


class DetectionAttributes(LunaModel):
    """``DetectionAttributes`` of the served document."""

    head_pose: HeadPoseOut | None = Field(default=None)
    emotions: EmotionsOut | None = Field(default=None)
    mask: MaskOut | None = Field(default=None)
    mouth_attributes: MouthOut | None = Field(default=None)
    glasses: GlassesOut | None = Field(default=None)
    eyes_attributes: EyesOut | None = Field(default=None)
    gaze: GazeOut | None = Field(default=None)
    liveness: LivenessOut | None = Field(default=None)


class Detections(LunaModel):
    """``Detections`` of the served document."""

    samples: list[Sample]
    filtered_detections: FilteredDetections


class DetectorImage(LunaModel):
    """``DetectorImage`` of the served document."""

    filename: str
    status: int
    error: Error
    detections: Detections | None = Field(default=None)
    exif: dict[str, Any] | None = Field(default=None)


class DetectorResponse(LunaModel):
    """``DetectorResponse`` of the served document."""

    images: list[DetectorImage]


class EmotionsOut(LunaModel):
    """``EmotionsOut`` of the served document."""

    predominant_emotion: str
    estimations: dict[str, float]


class Error(LunaModel):
    """``Error`` of the served document."""

    error_code: int
    desc: str
    detail: str
    link: str | None = Field(default=None)


class EstimateLiveness(LunaModel):
    """``EstimateLiveness`` of the served document."""

    estimate: int = Field(default=0)
    liveness_threshold: float | None = Field(default=None)
    quality_threshold: float | None = Field(default=None)


class EventPolicy(LunaModel):
    """``EventPolicy`` of the served document."""

    store_event: int = Field(default=1)
    wait_saving: int = Field(default=1)
    filters: Filters | None = Field(default=None)


class EventUpgradeData(LunaModel):
    """``EventUpgradeData`` of the served document."""

    face_descriptor: int = Field(default=1)


class EventUpgradeInput(LunaModel):
    """``EventUpgradeInput`` of the served document."""

    event_id: str
    upgrade_data: EventUpgradeData | None = Field(default=None)


class ExtractPolicy(LunaModel):
    """``ExtractPolicy`` of the served document."""

    extract_face_descriptor: int = Field(default=0)
    extract_basic_attributes: int = Field(default=0)
    fd_score_threshold: float = Field(default=0.0)
    extract_body_descriptor: int = Field(default=0)


class EyeOut(LunaModel):
    """``EyeOut`` of the served document."""

    state: str
    iris_landmarks: list[list[float]]
    eyelid_landmarks: list[list[float]]


class EyesOut(LunaModel):
    """``EyesOut`` of the served document."""

    left_eye: EyeOut
    right_eye: EyeOut


class FaceAttributeInput(LunaModel):
    """``FaceAttributeInput`` of the served document."""

    attribute_id: str | None = Field(default=None)
    descriptors: list[DescriptorInput] | None = Field(default=None)
    basic_attributes: BasicAttributesInput | None = Field(default=None)


class FaceDetectPolicy(LunaModel):
    """``FaceDetectPolicy`` of the served document."""

    multiface_policy: int = Field(default=1)
    detect_landmarks68: int = Field(default=0)
    estimate_head_pose: int = Field(default=0)
    estimate_emotions: int = Field(default=0)
    estimate_mask: int = Field(default=0)
    estimate_quality: int = Field(default=0)
    estimate_gaze: int = Field(default=0)
    estimate_eyes_attributes: int = Field(default=0)
    estimate_mouth_attributes: int = Field(default=0)
    estimate_glasses: int = Field(default=0)
    estimate_liveness: EstimateLiveness | None = Field(default=None)
    face_quality: FaceQuality | None = Field(default=None)
    extract_exif: int = Field(default=0)
    pitch_threshold: int | None = Field(default=None)
    roll_threshold: int | None = Field(default=None)
    yaw_threshold: int | None = Field(default=None)
    mask_states: list[Literal[1, 2, 3]] | None = Field(default=None)
    liveness_states: list[Literal[0, 1, 2]] | None = Field(default=None)


class FaceDetection(LunaModel):
    """``FaceDetection`` of the served document."""

    rect: Rect
    landmarks5: list[list[int]] | None = Field(default=None)
    score: float | None = Field(default=None)
    landmarks68: list[list[int]] | None = Field(default=None)
    quality: QualityOut | None = Field(default=None)
    face_quality: FaceQualityOut | None = Field(default=None)
    attributes: DetectionAttributes | None = Field(default=None)


class FaceExtractPolicy(LunaModel):
    """``FaceExtractPolicy`` of the served document."""

    extract_face_descriptor: int = Field(default=0)
    extract_basic_attributes: int = Field(default=0)
    fd_score_threshold: float = Field(default=0.0)


class FaceFilters(LunaModel):
    """``FaceFilters`` of the served document."""

    list_id: str | None = Field(default=None)
    face_ids: list[str] | None = Field(default=None)
    external_ids: list[str] | None = Field(default=None)
    user_data: str | None = Field(default=None)
    create_time__gte: str | None = Field(default=None)
    create_time__lt: str | None = Field(default=None)
    face_id__gte: str | None = Field(default=None)
    face_id__lt: str | None = Field(default=None)
    origin: Literal["faces"] = Field(default="faces")


class FaceInput(LunaModel):
    """``FaceInput`` of the served document."""

    attribute_id: str | None = Field(default=None)
    descriptors: list[DescriptorInput] | None = Field(default=None)
    basic_attributes: BasicAttributesInput | None = Field(default=None)
    attribute: FaceAttributeInput | None = Field(default=None)
    user_data: str = Field(default="")
    external_id: str = Field(default="")
    avatar: str = Field(default="")
    lists: list[str] | None = Field(default=None)


class FacePatch(LunaModel):
    """``FacePatch`` of the served document."""

    user_data: str | None = Field(default=None)
    external_id: str | None = Field(default=None)


class FacePolicy(LunaModel):
    """``FacePolicy`` of the served document."""

    store_face: int = Field(default=0)
    set_sample_as_avatar: int = Field(default=1)
    link_to_lists_policy: list[LinkToListsPolicy] | None = Field(default=None)
    filters: Filters | None = Field(default=None)


class FaceQuality(LunaModel):
    """``FaceQuality`` of the served document."""

    estimate: int = Field(default=0)
    filter: int = Field(default=0)
    checks: FaceQualityChecks | None = Field(default=None)


class FaceQualityChecks(LunaModel):
    """``FaceQualityChecks`` of the served document."""

    aspect_ratio: QualityCheck | None = Field(default=None)
    background_lightness: QualityCheck | None = Field(default=None)
    background_uniformity: QualityCheck | None = Field(default=None)
    blurriness_quality: QualityCheck | None = Field(default=None)
    dark_quality: QualityCheck | None = Field(default=None)
    eye_distance: QualityCheck | None = Field(default=None)
    eyebrows_state: QualityCheck | None = Field(default=None)
    face_height: QualityCheck | None = Field(default=None)
    face_width: QualityCheck | None = Field(default=None)
    gaze_pitch: QualityCheck | None = Field(default=None)
    gaze_yaw: QualityCheck | None = Field(default=None)
    glasses: QualityCheck | None = Field(default=None)
    head_pitch: QualityCheck | None = Field(default=None)
    head_roll: QualityCheck | None = Field(default=None)
    head_yaw: QualityCheck | None = Field(default=None)
    illumination_quality: QualityCheck | None = Field(default=None)
    left_eye: QualityCheck | None = Field(default=None)
    light_quality: QualityCheck | None = Field(default=None)
    mouth_occluded: QualityCheck | None = Field(default=None)
    mouth_open: QualityCheck | None = Field(default=None)
    mouth_smiling: QualityCheck | None = Field(default=None)
    natural_light: QualityCheck | None = Field(default=None)
    radial_distortion: QualityCheck | None = Field(default=None)
    red_eyes: QualityCheck | None = Field(default=None)
    right_eye: QualityCheck | None = Field(default=None)
    smile_properties: QualityCheck | None = Field(default=None)
    specularity_quality: QualityCheck | None = Field(default=None)


class FaceQualityOut(LunaModel):
    """``FaceQualityOut`` of the served document."""

    status: int
    checks: list[IsoCheckOut]
    unavailable: list[str]


class FaceSample(LunaModel):
    """``FaceSample`` of the served document."""

    detection: FaceDetection
    sample_id: str | None = Field(default=None)
    url: str | None = Field(default=None)


class FaceSamplePolicy(LunaModel):
    """``FaceSamplePolicy`` of the served document."""

    store_sample: int = Field(default=1)
    filters: Filters | None = Field(default=None)


class FilterReason(LunaModel):
    """``FilterReason`` of the served document."""

    filter_name: str
    object_value: float
    threshold_value: float | list[int]


class FilteredDetection(LunaModel):
    """``FilteredDetection`` of the served document."""

    filename: str
    sample: FilteredSample


class FilteredDetections(LunaModel):
    """``FilteredDetections`` of the served document."""

    face_detections: list[FilteredFace]


class FilteredFace(LunaModel):
    """``FilteredFace`` of the served document."""

    detection: FilteredDetection
    filter_reasons: list[FilterReason]


class FilteredSample(LunaModel):
    """``FilteredSample`` of the served document."""

    detection: FaceDetection


class Filters(LunaModel):
    """``Filters`` of the served document."""

    match: list[MatchFilter] | None = Field(default=None)
    age__gte: int | None = Field(default=None)
    age__lt: int | None = Field(default=None)
    gender: int | None = Field(default=None)
    ethnicities: list[Literal["african_american", "asian", "caucasian", "indian"]] | None = Field(default=None)
    liveness: list[Literal[0, 1, 2]] | None = Field(default=None)
    mask: list[Literal[1, 2, 3]] | None = Field(default=None)


class GazeOut(LunaModel):
    """``GazeOut`` of the served document."""

    yaw: float
    pitch: float


class GlassesOut(LunaModel):
    """``GlassesOut`` of the served document."""

    glasses: str
    estimations: dict[str, float]


class HandlerBody(LunaModel):
    """``HandlerBody`` of the served document."""

    description: str = Field(default="")
    policies: Policies | None = Field(default=None)
    is_dynamic: bool = Field(default=False)


class HeadPoseOut(LunaModel):
    """``HeadPoseOut`` of the served document."""

    pitch: float
    roll: float
    yaw: float


class HealthResponse(LunaModel):
    """``HealthResponse`` of the served document."""

    execution_time: float


class ImageOriginPolicy(LunaModel):
    """``ImageOriginPolicy`` of the served document."""

    store_image: int = Field(default=0)
    use_external_references: int = Field(default=0)
    filters: Filters | None = Field(default=None)


class IsoCheckOut(LunaModel):
    """``IsoCheckOut`` of the served document."""

    name: str
    object_value: float
    threshold_value: ThresholdOut
    result: int


class IsoDetection(LunaModel):
    """``IsoDetection`` of the served document."""

    rect: Rect
    iso: FaceQualityOut


class IsoEstimation(LunaModel):
    """``IsoEstimation`` of the served document."""

    face: IsoFace


class IsoFace(LunaModel):
    """``IsoFace`` of the served document."""

    detection: IsoDetection


class IsoImage(LunaModel):
    """``IsoImage`` of the served document."""

    filename: str
    status: int
    error: Error
    estimations: list[IsoEstimation] | None = Field(default=None)
    exif: dict[str, Any] | None = Field(default=None)


class IsoResponse(LunaModel):
    """``IsoResponse`` of the served document."""

    images: list[IsoImage]


class LinkToListsPolicy(LunaModel):
    """``LinkToListsPolicy`` of the served document."""

    list_id: str
    filters: Filters | None = Field(default=None)


class ListInput(LunaModel):
    """``ListInput`` of the served document."""

    user_data: str = Field(default="")


class ListLinks(LunaModel):
    """``ListLinks`` of the served document."""

    action: Literal["attach", "detach"]
    face_ids: list[str]


class LivenessEstimationsOut(LunaModel):
    """``LivenessEstimationsOut`` of the served document."""

    score: float


class LivenessOut(LunaModel):
    """``LivenessOut`` of the served document."""

    prediction: str
    estimations: LivenessEstimationsOut


class LowerBodyOut(LunaModel):
    """``LowerBodyOut`` of the served document."""

    lower_garment: LowerGarmentOut


class LowerGarmentOut(LunaModel):
    """``LowerGarmentOut`` of the served document."""

    colors: list[str]


class MaskOut(LunaModel):
    """``MaskOut`` of the served document."""

    predominant_mask: str
    estimations: dict[str, float]


class MatchFacesBody(LunaModel):
    """``MatchFacesBody`` of the served document."""

    references: list[MatchReference]
    candidates: list[CandidateSet]


class MatchFilter(LunaModel):
    """``MatchFilter`` of the served document."""

    label: str
    similarity__gte: float | None = Field(default=None)
    similarity__lte: float | None = Field(default=None)


class MatchPolicy(LunaModel):
    """``MatchPolicy`` of the served document."""

    label: str
    candidates: Candidates
    filters: Filters | None = Field(default=None)
    limit: int = Field(default=3)
    threshold: float | None = Field(default=None)
    targets: list[Literal["face_id", "user_data", "external_id", "create_time", "lists", "event_id", "handler_id", "source", "tags", "similarity"]] | None = Field(default=None)


class MatchReference(LunaModel):
    """``MatchReference`` of the served document."""

    type: Literal["face_id", "attribute_id", "event_id", "face", "attribute", "event", "descriptor"] | Literal["sdk_descriptor", "raw_descriptor"]
    id: str
    data: str | None = Field(default=None)
    version: int | None = Field(default=None)


class MouthOut(LunaModel):
    """``MouthOut`` of the served document."""

    opened: float
    smile: float
    occluded: float | None = Field(default=None)


class NotificationPolicy(LunaModel):
    """``NotificationPolicy`` of the served document."""

    send_notification: int = Field(default=1)
    filters: Filters | None = Field(default=None)


class Policies(LunaModel):
    """``Policies`` of the served document."""

    detect_policy: DetectPolicy | None = Field(default=None)
    extract_policy: ExtractPolicy | None = Field(default=None)
    match_policy: list[MatchPolicy] | None = Field(default=None)
    storage_policy: StoragePolicy | None = Field(default=None)
    conditional_tags_policy: list[ConditionalTagsPolicy] | None = Field(default=None)


class QualityCheck(LunaModel):
    """``QualityCheck`` of the served document."""

    estimate: int = Field(default=0)
    threshold: Threshold | None = Field(default=None)


class QualityOut(LunaModel):
    """``QualityOut`` of the served document."""

    blurriness: float
    dark: float
    illumination: float
    specularity: float
    light: float


class RawBody(LunaModel):
    """``RawBody`` of the served document."""

    references: list[DescriptorEntity]
    candidates: list[DescriptorEntity]


class RawEvent(LunaModel):
    """``RawEvent`` of the served document."""

    source: str | None = Field(default=None)
    location: dict[str, Any] | None = Field(default=None)
    external_id: str = Field(default="")
    user_data: str = Field(default="")
    track_id: str | None = Field(default=None)
    meta: dict[str, Any] | None = Field(default=None)
    face: dict[str, Any] | None = Field(default=None)
    matches: list[dict[str, Any]] | None = Field(default=None)
    face_attributes: dict[str, Any] | None = Field(default=None)
    body_attributes: dict[str, Any] | None = Field(default=None)
    aggregate_estimations: dict[str, Any] | None = Field(default=None)
    detections: list[dict[str, Any]] | None = Field(default=None)
    tags: list[str] | None = Field(default=None)
    create_time: str | None = Field(default=None)
    end_time: str | None = Field(default=None)


class Rect(LunaModel):
    """``Rect`` of the served document."""

    x: int
    y: int
    width: int
    height: int


class Sample(LunaModel):
    """``Sample`` of the served document."""

    face: FaceSample


class SdkAttributes(LunaModel):
    """``SdkAttributes`` of the served document."""

    head_pose: HeadPoseOut | None = Field(default=None)
    descriptor: DescriptorOut | None = Field(default=None)
    basic_attributes: BasicAttributesOut | None = Field(default=None)
    emotions: EmotionsOut | None = Field(default=None)
    mask: MaskOut | None = Field(default=None)
    mouth_attributes: MouthOut | None = Field(default=None)
    glasses: GlassesOut | None = Field(default=None)
    eyes_attributes: EyesOut | None = Field(default=None)
    gaze: GazeOut | None = Field(default=None)
    liveness: LivenessOut | None = Field(default=None)


class SdkBody(LunaModel):
    """``SdkBody`` of the served document."""

    detection: BodyDetection
    attributes: BodyAttributes
    sample_id: str | None = Field(default=None)


class SdkDetection(LunaModel):
    """``SdkDetection`` of the served document."""

    rect: Rect
    landmarks5: list[list[int]] | None = Field(default=None)
    score: float | None = Field(default=None)
    landmarks68: list[list[int]] | None = Field(default=None)
    quality: QualityOut | None = Field(default=None)
    face_quality: FaceQualityOut | None = Field(default=None)
    warp: str | None = Field(default=None)


class SdkEstimation(LunaModel):
    """``SdkEstimation`` of the served document."""

    face: SdkFace | None = Field(default=None)
    body: SdkBody | None = Field(default=None)


class SdkFace(LunaModel):
    """``SdkFace`` of the served document."""

    detection: SdkDetection
    attributes: SdkAttributes
    sample_id: str | None = Field(default=None)
    url: str | None = Field(default=None)


class SdkFiltered(LunaModel):
    """``SdkFiltered`` of the served document."""

    faces: list[SdkFilteredFace]


class SdkFilteredFace(LunaModel):
    """``SdkFilteredFace`` of the served document."""

    face: SdkFace
    filter_reasons: list[FilterReason]


class SdkImage(LunaModel):
    """``SdkImage`` of the served document."""

    filename: str
    status: int
    error: Error
    estimations: list[SdkEstimation] | None = Field(default=None)
    filtered_estimations: SdkFiltered | None = Field(default=None)
    exif: dict[str, Any] | None = Field(default=None)


class SdkResponse(LunaModel):
    """``SdkResponse`` of the served document."""

    images_estimations: list[SdkImage]
    aggregate_estimations: AggregateEstimations | None = Field(default=None)


class ServiceRelease(LunaModel):
    """``ServiceRelease`` of the served document."""

    name: str
    version: str


class StoragePolicy(LunaModel):
    """``StoragePolicy`` of the served document."""

    face_sample_policy: FaceSamplePolicy | None = Field(default=None)
    body_sample_policy: BodySamplePolicy | None = Field(default=None)
    image_origin_policy: ImageOriginPolicy | None = Field(default=None)
    attribute_policy: AttributePolicy | None = Field(default=None)
    face_policy: FacePolicy | None = Field(default=None)
    event_policy: EventPolicy | None = Field(default=None)
    notification_policy: NotificationPolicy | None = Field(default=None)


class Threshold(LunaModel):
    """``Threshold`` of the served document."""

    min: float | None = Field(default=None)
    max: float | None = Field(default=None)


class ThresholdOut(LunaModel):
    """``ThresholdOut`` of the served document."""

    min: float | None
    max: float | None


class TokenInput(LunaModel):
    """``TokenInput`` of the served document."""

    description: str = Field(default="")
    expiration_time: str | None = Field(default=None)


class UpgradeData(LunaModel):
    """``UpgradeData`` of the served document."""

    samples: list[str] | None = Field(default=None)
    face_descriptor: int = Field(default=1)
    basic_attributes: int = Field(default=0)


class UpgradeInput(LunaModel):
    """``UpgradeInput`` of the served document."""

    face_id: str
    upgrade_data: UpgradeData | None = Field(default=None)


class UpperBodyOut(LunaModel):
    """``UpperBodyOut`` of the served document."""

    upper_clothing: UpperClothingOut


class UpperClothingOut(LunaModel):
    """``UpperClothingOut`` of the served document."""

    colors: list[str]


class ValidatorBody(LunaModel):
    """``ValidatorBody`` of the served document."""

    policies: Policies


class VerifierBody(LunaModel):
    """``VerifierBody`` of the served document."""

    description: str = Field(default="")
    policies: VerifierPolicies | None = Field(default=None)


class VerifierPolicies(LunaModel):
    """``VerifierPolicies`` of the served document."""

    detect_policy: FaceDetectPolicy | None = Field(default=None)
    extract_policy: FaceExtractPolicy | None = Field(default=None)
    storage_policy: VerifierStoragePolicy | None = Field(default=None)
    verification_threshold: float = Field(default=0.5)


class VerifierStoragePolicy(LunaModel):
    """``VerifierStoragePolicy`` of the served document."""

    face_sample_policy: FaceSamplePolicy | None = Field(default=None)
    attribute_policy: AttributePolicy | None = Field(default=None)


class VersionNumbers(LunaModel):
    """``VersionNumbers`` of the served document."""

    api: int
    major: int
    minor: int
    patch: int


class VersionResponse(LunaModel):
    """``VersionResponse`` of the served document."""

    Version: VersionNumbers
    service: ServiceRelease


SampleIds = list[str]
UpgradeBody = UpgradeInput | EventUpgradeInput

MODELS: dict[str, type[LunaModel]] = {
    "AccountInput": AccountInput,
    "AggregateAttributes": AggregateAttributes,
    "AggregateEstimations": AggregateEstimations,
    "AggregateFace": AggregateFace,
    "AttributePolicy": AttributePolicy,
    "BasicAttributesInput": BasicAttributesInput,
    "BasicAttributesOut": BasicAttributesOut,
    "BodyAttributes": BodyAttributes,
    "BodyDescriptorOut": BodyDescriptorOut,
    "BodyDetection": BodyDetection,
    "BodySamplePolicy": BodySamplePolicy,
    "CandidateSet": CandidateSet,
    "Candidates": Candidates,
    "ConditionalTagsPolicy": ConditionalTagsPolicy,
    "DescriptorEntity": DescriptorEntity,
    "DescriptorInput": DescriptorInput,
    "DescriptorOut": DescriptorOut,
    "DetectPolicy": DetectPolicy,
    "DetectionAttributes": DetectionAttributes,
    "Detections": Detections,
    "DetectorImage": DetectorImage,
    "DetectorResponse": DetectorResponse,
    "EmotionsOut": EmotionsOut,
    "Error": Error,
    "EstimateLiveness": EstimateLiveness,
    "EventPolicy": EventPolicy,
    "EventUpgradeData": EventUpgradeData,
    "EventUpgradeInput": EventUpgradeInput,
    "ExtractPolicy": ExtractPolicy,
    "EyeOut": EyeOut,
    "EyesOut": EyesOut,
    "FaceAttributeInput": FaceAttributeInput,
    "FaceDetectPolicy": FaceDetectPolicy,
    "FaceDetection": FaceDetection,
    "FaceExtractPolicy": FaceExtractPolicy,
    "FaceFilters": FaceFilters,
    "FaceInput": FaceInput,
    "FacePatch": FacePatch,
    "FacePolicy": FacePolicy,
    "FaceQuality": FaceQuality,
    "FaceQualityChecks": FaceQualityChecks,
    "FaceQualityOut": FaceQualityOut,
    "FaceSample": FaceSample,
    "FaceSamplePolicy": FaceSamplePolicy,
    "FilterReason": FilterReason,
    "FilteredDetection": FilteredDetection,
    "FilteredDetections": FilteredDetections,
    "FilteredFace": FilteredFace,
    "FilteredSample": FilteredSample,
    "Filters": Filters,
    "GazeOut": GazeOut,
    "GlassesOut": GlassesOut,
    "HandlerBody": HandlerBody,
    "HeadPoseOut": HeadPoseOut,
    "HealthResponse": HealthResponse,
    "ImageOriginPolicy": ImageOriginPolicy,
    "IsoCheckOut": IsoCheckOut,
    "IsoDetection": IsoDetection,
    "IsoEstimation": IsoEstimation,
    "IsoFace": IsoFace,
    "IsoImage": IsoImage,
    "IsoResponse": IsoResponse,
    "LinkToListsPolicy": LinkToListsPolicy,
    "ListInput": ListInput,
    "ListLinks": ListLinks,
    "LivenessEstimationsOut": LivenessEstimationsOut,
    "LivenessOut": LivenessOut,
    "LowerBodyOut": LowerBodyOut,
    "LowerGarmentOut": LowerGarmentOut,
    "MaskOut": MaskOut,
    "MatchFacesBody": MatchFacesBody,
    "MatchFilter": MatchFilter,
    "MatchPolicy": MatchPolicy,
    "MatchReference": MatchReference,
    "MouthOut": MouthOut,
    "NotificationPolicy": NotificationPolicy,
    "Policies": Policies,
    "QualityCheck": QualityCheck,
    "QualityOut": QualityOut,
    "RawBody": RawBody,
    "RawEvent": RawEvent,
    "Rect": Rect,
    "Sample": Sample,
    "SdkAttributes": SdkAttributes,
    "SdkBody": SdkBody,
    "SdkDetection": SdkDetection,
    "SdkEstimation": SdkEstimation,
    "SdkFace": SdkFace,
    "SdkFiltered": SdkFiltered,
    "SdkFilteredFace": SdkFilteredFace,
    "SdkImage": SdkImage,
    "SdkResponse": SdkResponse,
    "ServiceRelease": ServiceRelease,
    "StoragePolicy": StoragePolicy,
    "Threshold": Threshold,
    "ThresholdOut": ThresholdOut,
    "TokenInput": TokenInput,
    "UpgradeData": UpgradeData,
    "UpgradeInput": UpgradeInput,
    "UpperBodyOut": UpperBodyOut,
    "UpperClothingOut": UpperClothingOut,
    "ValidatorBody": ValidatorBody,
    "VerifierBody": VerifierBody,
    "VerifierPolicies": VerifierPolicies,
    "VerifierStoragePolicy": VerifierStoragePolicy,
    "VersionNumbers": VersionNumbers,
    "VersionResponse": VersionResponse,
}

for _model in MODELS.values():
    _model.model_rebuild()
