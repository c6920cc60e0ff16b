"""Query parameters of the routes, as the API document lists them, and what they ask for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import BaseModel, Field

from serve_app.errors import BAD_QUERY, LunaError
from serve_app.estimations import state_filters
from serve_app.pipeline.plan import FACE_WARP, RAW_IMAGE, Plan, query_plan

BODY_DESCRIPTOR = "body_descriptor"
Flag = Annotated[int, Field(ge=0, le=1)]
Angle = Annotated[int, Field(ge=0, le=180)]


class _AngleFilters(BaseModel):
    pitch_threshold: Angle | None = None
    roll_threshold: Angle | None = None
    yaw_threshold: Angle | None = None

    def angle_thresholds(self) -> dict[str, float]:
        """The head pose filters asked for, by angle."""
        limits = {
            "pitch": self.pitch_threshold,
            "roll": self.roll_threshold,
            "yaw": self.yaw_threshold,
        }
        return {angle: float(value) for angle, value in limits.items() if value is not None}


class DetectorQuery(_AngleFilters):
    """``POST /1/detector`` query."""

    multiface_policy: int = Field(
        1, ge=0, le=2, description="0: one face only; 1: all faces; 2: the best face"
    )
    estimate_head_pose: Flag = 0
    estimate_emotions: Flag = 0
    estimate_mask: Flag = 0
    detect_landmarks68: Flag = 0
    extract_exif: Flag = 0
    estimate_quality: Flag = 0
    estimate_gaze: Flag = 0
    estimate_eyes_attributes: Flag = 0
    estimate_mouth_attributes: Flag = 0
    estimate_face_quality: Flag = 0
    warped_image: Flag = 0
    use_exif_info: Flag = 1

    def plan(self) -> Plan:
        """What the query asks for. Every face is stored as a sample, so warps are made."""
        return query_plan(
            self.model_dump(),
            multiface_policy=self.multiface_policy,
            image_type=FACE_WARP if self.warped_image else RAW_IMAGE,
            use_exif=bool(self.use_exif_info),
            extract_exif=bool(self.extract_exif),
            keep_warps=True,
            angle_thresholds=self.angle_thresholds(),
            strict_warps=True,
        )


class IsoQuery(BaseModel):
    """``POST /1/iso`` query."""

    image_type: int = Field(0, ge=0, le=1, description="0 raw image, 1 face warp")
    multiface_policy: int = Field(
        0, ge=0, le=2, description="0: one face only; 1: all faces; 2: the best face"
    )
    extract_exif: Flag = 0
    use_exif_info: Flag = 1

    def plan(self) -> Plan:
        """The ISO checks of every face (and what they need)."""
        return Plan(
            multiface_policy=self.multiface_policy,
            image_type=self.image_type,
            use_exif=bool(self.use_exif_info),
            extract_exif=bool(self.extract_exif),
            estimations=frozenset({"face_quality"}),
        )


class SdkQuery(_AngleFilters):
    """``POST /1/sdk`` query."""

    image_type: int = Field(0, ge=0, le=2, description="0 raw image, 1 face warp, 2 body warp")
    multiface_policy: int = Field(1, ge=0, le=2)
    detect_face: Flag = 0
    detect_body: Flag = 0
    estimate_head_pose: Flag = 0
    estimate_emotions: Flag = 0
    estimate_landmarks68: Flag = 0
    estimate_landmarks5: Flag = 0
    estimate_quality: Flag = 0
    estimate_gaze: Flag = 0
    estimate_eyes_attributes: Flag = 0
    estimate_mouth_attributes: Flag = 0
    estimate_mask: Flag = 0
    estimate_glasses: Flag = 0
    estimate_liveness: Flag = 0
    estimate_face_descriptor: Flag = 1
    estimate_basic_attributes: Flag = 0
    estimate_body_descriptor: Flag = 1
    estimate_upper_body: Flag = 0
    estimate_lower_body: Flag = 0
    estimate_accessories: Flag = 0
    estimate_body_basic_attributes: Flag = 0
    estimate_body_warp: Flag = 0
    estimate_face_warp: Flag = 0
    aggregate_attributes: Flag = 0
    score_threshold: float = Field(0.0, ge=0.0, le=1.0)
    # Comma-separated states: faces in other states are filtered.
    mask_states: str | None = Field(
        None,
        pattern=r"^[1-3](,[1-3])*$",
        description="e.g. 1,2 (1 missing, 2 medical_mask, 3 occluded)",
    )
    liveness_states: str | None = Field(
        None, pattern=r"^[0-2](,[0-2])*$", description="e.g. 1 (0 spoof, 1 real, 2 unknown)"
    )
    use_exif_info: Flag = 1
    extract_exif: Flag = 0

    def plan(self, store_samples: bool, available: Callable[[str], bool] = bool) -> Plan:
        """What the query asks for; warps are kept when returned or stored as samples.

        ``estimate_body_descriptor`` is on by default: left at its default it applies where
        this deployment has a body descriptor model, asked for explicitly it requires one.
        """
        flags = self.model_dump()
        if "estimate_body_descriptor" not in self.model_fields_set and not available(
            BODY_DESCRIPTOR
        ):
            flags["estimate_body_descriptor"] = 0
        return query_plan(
            flags,
            multiface_policy=self.multiface_policy,
            image_type=self.image_type,
            detect_face=bool(self.detect_face),
            detect_body=bool(self.detect_body),
            use_exif=bool(self.use_exif_info),
            extract_exif=bool(self.extract_exif),
            keep_warps=bool(self.estimate_face_warp) or store_samples,
            angle_thresholds=self.angle_thresholds(),
            states=state_filters(self),
            score_threshold=self.score_threshold,
            aggregate=bool(self.aggregate_attributes),
        )


LocationStr = Annotated[str, Field(max_length=36)]


class EventsQuery(BaseModel):
    """``POST /1/handlers/{handler_id}/events`` query."""

    city: LocationStr | None = None
    area: LocationStr | None = None
    district: LocationStr | None = None
    street: LocationStr | None = None
    house_number: LocationStr | None = None
    longitude: float | None = Field(None, ge=-180, le=180)
    latitude: float | None = Field(None, ge=-90, le=90)
    track_id: str | None = Field(None, pattern=r"^[a-zA-Z0-9_\-]{1,36}$")
    use_exif_info: Flag = 1
    external_id: str = Field("", max_length=36)
    user_data: str = Field("", max_length=128)
    image_type: int = Field(0, ge=0, le=2, description="0 raw image, 1 face warp, 2 body warp")
    aggregate_attributes: Flag = 0
    source: str | None = Field(None, max_length=128)
    no_cache: Flag = 0
    tags: str | None = Field(None, description="comma-separated; each at most 36 characters")

    def tag_list(self) -> tuple[str, ...]:
        """The tags, each checked for LUNA's length limit."""
        tags = tuple(t for t in (self.tags or "").split(",") if t)
        if any(len(tag) > 36 for tag in tags):
            raise LunaError(BAD_QUERY, "tags: each tag is at most 36 characters")
        return tags

    def location(self) -> dict | None:
        """LUNA's event ``location``, or None when the query names no place."""
        fields = {
            name: getattr(self, name)
            for name in ("city", "area", "district", "street", "house_number")
            if getattr(self, name) is not None
        }
        if self.longitude is not None and self.latitude is not None:
            fields["geo_position"] = {"longitude": self.longitude, "latitude": self.latitude}
        return fields or None
