"""Query parameters of the routes, as the API document lists them, and what they ask for."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from serve_app.face_analysis import AnalysisOptions

Flag = Annotated[int, Field(ge=0, le=1)]
Angle = Annotated[int, Field(ge=0, le=180)]

# Estimators this service does not have yet; asking for them is LUNA's licence error.
EMOTIONS, MASK, GLASSES, EYES, GAZE, MOUTH = "emotions", "mask", "glasses", "eyes", "gaze", "mouth"
LIVENESS, FACE_QUALITY_ISO, BODY_DETECTOR = "liveness", "face_quality", "body_detector"


class _AngleFilters(BaseModel):
    pitch_threshold: Angle | None = None
    roll_threshold: Angle | None = None
    yaw_threshold: Angle | None = None


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

    def missing_estimators(self) -> list[tuple[str, str]]:
        """(flag, estimator) for each estimation asked for that has no estimator here."""
        flags = [
            ("estimate_emotions", EMOTIONS),
            ("estimate_mask", MASK),
            ("estimate_gaze", GAZE),
            ("estimate_eyes_attributes", EYES),
            ("estimate_mouth_attributes", MOUTH),
            ("estimate_face_quality", FACE_QUALITY_ISO),
        ]
        return [(flag, name) for flag, name in flags if getattr(self, flag)]

    def analysis(self) -> AnalysisOptions:
        """The face estimations asked for."""
        return AnalysisOptions(
            landmarks68=bool(self.detect_landmarks68),
            head_pose=bool(self.estimate_head_pose),
            quality=bool(self.estimate_quality),
            pitch_threshold=self.pitch_threshold,
            roll_threshold=self.roll_threshold,
            yaw_threshold=self.yaw_threshold,
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
    # Comma-separated states; they filter by estimators this service has not (yet).
    mask_states: str | None = Field(None, description="e.g. 1,2 (missing, medical_mask)")
    liveness_states: str | None = Field(None, description="e.g. 1 (real)")
    use_exif_info: Flag = 1
    extract_exif: Flag = 0

    @property
    def faces_expected(self) -> bool:
        """Whether the request can have faces: detected ones, or face warps."""
        return bool(self.detect_face) or self.image_type == 1

    def missing_estimators(self) -> list[tuple[str, str]]:
        """(flag, estimator) for each estimation asked for that has no estimator here."""
        flags = [
            ("estimate_emotions", EMOTIONS),
            ("estimate_mask", MASK),
            ("mask_states", MASK),
            ("estimate_glasses", GLASSES),
            ("estimate_eyes_attributes", EYES),
            ("estimate_gaze", GAZE),
            ("estimate_mouth_attributes", MOUTH),
            ("estimate_liveness", LIVENESS),
            ("liveness_states", LIVENESS),
            ("detect_body", BODY_DETECTOR),
        ]
        missing = [(flag, name) for flag, name in flags if getattr(self, flag)]
        if self.image_type == 2:
            missing.append(("image_type=2", BODY_DETECTOR))
        return missing

    def analysis(self) -> AnalysisOptions:
        """The face estimations asked for (none when the request can have no faces)."""
        if not self.faces_expected:
            return AnalysisOptions()
        return AnalysisOptions(
            landmarks68=bool(self.estimate_landmarks68),
            head_pose=bool(self.estimate_head_pose),
            quality=bool(self.estimate_quality),
            warp=bool(self.estimate_face_warp),
            descriptor=bool(self.estimate_face_descriptor),
            basic_attributes=bool(self.estimate_basic_attributes),
            pitch_threshold=self.pitch_threshold,
            roll_threshold=self.roll_threshold,
            yaw_threshold=self.yaw_threshold,
            score_threshold=self.score_threshold,
        )
