"""Handler and verifier policies, validated completely (fields, defaults, ranges, enums).

Field names follow LUNA's handler policies (see ../shared/reference/luna-api-notes.md and
docs/policies.md). Unknown fields are refused so that a typo is an error naming its path,
not a silently ignored setting. A stored handler reads back as ``model_dump()`` of these
models: the client's values with every default filled in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

Flag = Annotated[int, Field(ge=0, le=1)]
Angle = Annotated[int, Field(ge=0, le=180)]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Uuid = Annotated[
    str, Field(pattern=r"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$")
]
Label = Annotated[str, Field(min_length=1, max_length=36)]
MaskState = Literal[1, 2, 3]  # missing, medical_mask, occluded
LivenessState = Literal[0, 1, 2]  # spoof, real, unknown
Ethnicity = Literal["african_american", "asian", "caucasian", "indian"]


def _rfc3339(value: str) -> str:
    # Kept as the client wrote it, so that the policy reads back identical.
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


Time = Annotated[str, Field(max_length=40), AfterValidator(_rfc3339)]


def policy_time(value: str | None) -> datetime | None:
    """A policy's time as an aware datetime; one written without an offset is UTC."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Filters: which faces a storage step or a conditional tag applies to.


class MatchFilter(_Policy):
    """Keep faces whose best match under ``label`` lies in the similarity range."""

    label: Label
    similarity__gte: Unit | None = None
    similarity__lte: Unit | None = None


class Filters(_Policy):
    """Conditions on a face's estimations and match results; all given ones must hold."""

    match: list[MatchFilter] | None = None
    age__gte: Annotated[int, Field(ge=0, le=125)] | None = None
    age__lt: Annotated[int, Field(ge=0, le=125)] | None = None
    gender: Flag | None = None
    ethnicities: list[Ethnicity] | None = None
    liveness: list[LivenessState] | None = None
    mask: list[MaskState] | None = None


# Detection


class Threshold(_Policy):
    """A range a value must lie in."""

    min: float | None = None
    max: float | None = None


class QualityCheck(_Policy):
    """One ISO-style face quality check."""

    estimate: Flag = 0
    threshold: Threshold = Field(default_factory=Threshold)


class FaceQualityChecks(_Policy):
    """The face quality checks (ISO/IEC 19794-5 style) a detect policy can run."""

    aspect_ratio: QualityCheck = Field(default_factory=QualityCheck)
    background_lightness: QualityCheck = Field(default_factory=QualityCheck)
    background_uniformity: QualityCheck = Field(default_factory=QualityCheck)
    blurriness_quality: QualityCheck = Field(default_factory=QualityCheck)
    dark_quality: QualityCheck = Field(default_factory=QualityCheck)
    eye_distance: QualityCheck = Field(default_factory=QualityCheck)
    eyebrows_state: QualityCheck = Field(default_factory=QualityCheck)
    face_height: QualityCheck = Field(default_factory=QualityCheck)
    face_width: QualityCheck = Field(default_factory=QualityCheck)
    gaze_pitch: QualityCheck = Field(default_factory=QualityCheck)
    gaze_yaw: QualityCheck = Field(default_factory=QualityCheck)
    glasses: QualityCheck = Field(default_factory=QualityCheck)
    head_pitch: QualityCheck = Field(default_factory=QualityCheck)
    head_roll: QualityCheck = Field(default_factory=QualityCheck)
    head_yaw: QualityCheck = Field(default_factory=QualityCheck)
    illumination_quality: QualityCheck = Field(default_factory=QualityCheck)
    left_eye: QualityCheck = Field(default_factory=QualityCheck)
    light_quality: QualityCheck = Field(default_factory=QualityCheck)
    mouth_occluded: QualityCheck = Field(default_factory=QualityCheck)
    mouth_open: QualityCheck = Field(default_factory=QualityCheck)
    mouth_smiling: QualityCheck = Field(default_factory=QualityCheck)
    natural_light: QualityCheck = Field(default_factory=QualityCheck)
    radial_distortion: QualityCheck = Field(default_factory=QualityCheck)
    red_eyes: QualityCheck = Field(default_factory=QualityCheck)
    right_eye: QualityCheck = Field(default_factory=QualityCheck)
    smile_properties: QualityCheck = Field(default_factory=QualityCheck)
    specularity_quality: QualityCheck = Field(default_factory=QualityCheck)


class FaceQuality(_Policy):
    """Whether to run face quality checks, and which."""

    estimate: Flag = 0
    filter: Flag = 0
    checks: FaceQualityChecks = Field(default_factory=FaceQualityChecks)


class EstimateLiveness(_Policy):
    """Liveness estimation and its thresholds."""

    estimate: Flag = 0
    liveness_threshold: Unit | None = None
    quality_threshold: Unit | None = None


class BodyAttributes(_Policy):
    """Body attribute estimations."""

    estimate_basic_attributes: Flag = 0
    estimate_upper_body: Flag = 0
    estimate_lower_body: Flag = 0
    estimate_accessories: Flag = 0


class FaceDetectPolicy(_Policy):
    """Face detection and per-face estimations (shared by handlers and verifiers)."""

    multiface_policy: Annotated[int, Field(ge=0, le=2)] = 1
    detect_landmarks68: Flag = 0
    estimate_head_pose: Flag = 0
    estimate_emotions: Flag = 0
    estimate_mask: Flag = 0
    estimate_quality: Flag = 0
    estimate_gaze: Flag = 0
    estimate_eyes_attributes: Flag = 0
    estimate_mouth_attributes: Flag = 0
    estimate_glasses: Flag = 0
    estimate_liveness: EstimateLiveness = Field(default_factory=EstimateLiveness)
    face_quality: FaceQuality = Field(default_factory=FaceQuality)
    extract_exif: Flag = 0
    pitch_threshold: Angle | None = None
    roll_threshold: Angle | None = None
    yaw_threshold: Angle | None = None
    mask_states: Annotated[list[MaskState], Field(min_length=1)] | None = None
    liveness_states: Annotated[list[LivenessState], Field(min_length=1)] | None = None


class DetectPolicy(FaceDetectPolicy):
    """What a handler detects and estimates."""

    detect_face: Flag = 1
    detect_body: Flag = 0
    body_attributes: BodyAttributes = Field(default_factory=BodyAttributes)


# Extraction


class FaceExtractPolicy(_Policy):
    """Face attributes to extract (shared by handlers and verifiers)."""

    extract_face_descriptor: Flag = 0
    extract_basic_attributes: Flag = 0
    fd_score_threshold: Unit = 0.0


class ExtractPolicy(FaceExtractPolicy):
    """What a handler extracts."""

    extract_body_descriptor: Flag = 0


# Matching


class FaceCandidates(_Policy):
    """Which of the account's faces are candidates (all given conditions hold)."""

    list_id: Uuid | None = None
    face_ids: Annotated[list[Uuid], Field(max_length=1000)] | None = None
    external_ids: (
        Annotated[list[Annotated[str, Field(max_length=36)]], Field(max_length=1000)] | None
    ) = None
    user_data: Annotated[str, Field(max_length=128)] | None = None
    create_time__gte: Time | None = None
    create_time__lt: Time | None = None
    face_id__gte: Uuid | None = None
    face_id__lt: Uuid | None = None


class Candidates(FaceCandidates):
    """Where to look for matches: faces (by list or ids) or events."""

    origin: Literal["faces", "events"] = "faces"
    account_id: Uuid | None = None
    event_ids: Annotated[list[Uuid], Field(max_length=1000)] | None = None
    handler_ids: Annotated[list[Uuid], Field(max_length=1000)] | None = None
    sources: list[Annotated[str, Field(max_length=128)]] | None = None
    tags: list[Label] | None = None


MatchTarget = Literal[
    "face_id",
    "user_data",
    "external_id",
    "create_time",
    "lists",
    "event_id",
    "handler_id",
    "source",
    "tags",
    "similarity",
]


class MatchPolicy(_Policy):
    """Match extracted descriptors against candidates; results are known by ``label``."""

    label: Label
    candidates: Candidates
    filters: Filters = Field(default_factory=Filters)
    limit: Annotated[int, Field(ge=1, le=100)] = 3
    threshold: Unit | None = None
    targets: list[MatchTarget] | None = None


# Storage


class FaceSamplePolicy(_Policy):
    """Store face warps as samples."""

    store_sample: Flag = 1
    filters: Filters = Field(default_factory=Filters)


class BodySamplePolicy(FaceSamplePolicy):
    """Store body warps as samples."""


class ImageOriginPolicy(_Policy):
    """Store the source images."""

    store_image: Flag = 0
    use_external_references: Flag = 0
    filters: Filters = Field(default_factory=Filters)


class AttributePolicy(_Policy):
    """Store extracted attributes, temporarily."""

    store_attribute: Flag = 0
    ttl: Annotated[int, Field(ge=1, le=86400)] = 300
    filters: Filters = Field(default_factory=Filters)


class LinkToListsPolicy(_Policy):
    """Put created faces into a list."""

    list_id: Uuid
    filters: Filters = Field(default_factory=Filters)


class FacePolicy(_Policy):
    """Create faces from events."""

    store_face: Flag = 0
    set_sample_as_avatar: Flag = 1
    link_to_lists_policy: list[LinkToListsPolicy] = Field(default_factory=list)
    filters: Filters = Field(default_factory=Filters)


class EventPolicy(_Policy):
    """Store events."""

    store_event: Flag = 1
    wait_saving: Flag = 1
    filters: Filters = Field(default_factory=Filters)


class NotificationPolicy(_Policy):
    """Send event notifications."""

    send_notification: Flag = 1
    filters: Filters = Field(default_factory=Filters)


class StoragePolicy(_Policy):
    """What a handler stores."""

    face_sample_policy: FaceSamplePolicy = Field(default_factory=FaceSamplePolicy)
    body_sample_policy: BodySamplePolicy = Field(default_factory=BodySamplePolicy)
    image_origin_policy: ImageOriginPolicy = Field(default_factory=ImageOriginPolicy)
    attribute_policy: AttributePolicy = Field(default_factory=AttributePolicy)
    face_policy: FacePolicy = Field(default_factory=FacePolicy)
    event_policy: EventPolicy = Field(default_factory=EventPolicy)
    notification_policy: NotificationPolicy = Field(default_factory=NotificationPolicy)


class ConditionalTagsPolicy(_Policy):
    """Tag events whose faces pass the filters."""

    tag: Label
    filters: Filters = Field(default_factory=Filters)


def _labels_used(filters: Filters) -> list[str]:
    return [m.label for m in filters.match or []]


class Policies(_Policy):
    """The rules a handler applies: detect, extract, match, store, tag."""

    detect_policy: DetectPolicy = Field(default_factory=DetectPolicy)
    extract_policy: ExtractPolicy = Field(default_factory=ExtractPolicy)
    match_policy: Annotated[list[MatchPolicy], Field(max_length=10)] = Field(default_factory=list)
    storage_policy: StoragePolicy = Field(default_factory=StoragePolicy)
    conditional_tags_policy: list[ConditionalTagsPolicy] = Field(default_factory=list)

    @model_validator(mode="after")
    def _labels_are_defined(self) -> Policies:
        """Filters may only name match labels that the match policy defines, once each."""
        labels = [m.label for m in self.match_policy]
        duplicates = {label for label in labels if labels.count(label) > 1}
        if duplicates:
            raise ValueError(f"match_policy labels must be unique: {sorted(duplicates)}")
        storage = self.storage_policy
        used = []
        for policy in (
            storage.face_sample_policy,
            storage.body_sample_policy,
            storage.image_origin_policy,
            storage.attribute_policy,
            storage.face_policy,
            storage.event_policy,
            storage.notification_policy,
            *storage.face_policy.link_to_lists_policy,
            *self.conditional_tags_policy,
        ):
            used += _labels_used(policy.filters)
        unknown = sorted(set(used) - set(labels))
        if unknown:
            raise ValueError(f"filters name match labels that match_policy lacks: {unknown}")
        return self

    def list_ids(self) -> set[str]:
        """Every list the policies read from or write to."""
        found = {m.candidates.list_id for m in self.match_policy if m.candidates.list_id}
        found |= {link.list_id for link in self.storage_policy.face_policy.link_to_lists_policy}
        return found


# Verifiers


class VerifierStoragePolicy(_Policy):
    """What a verifier stores."""

    face_sample_policy: FaceSamplePolicy = Field(default_factory=FaceSamplePolicy)
    attribute_policy: AttributePolicy = Field(default_factory=AttributePolicy)


class VerifierPolicies(_Policy):
    """The rules of a verifier: face detection and extraction, storage, and the threshold
    of LUNA similarity at which a candidate counts as the same person."""

    detect_policy: FaceDetectPolicy = Field(default_factory=FaceDetectPolicy)
    extract_policy: FaceExtractPolicy = Field(
        default_factory=lambda: FaceExtractPolicy(extract_face_descriptor=1)
    )
    storage_policy: VerifierStoragePolicy = Field(default_factory=VerifierStoragePolicy)
    verification_threshold: Unit = 0.5
