"""Query parameters of the routes, as the API document lists them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

Flag = Annotated[int, Field(ge=0, le=1)]
Angle = Annotated[int, Field(ge=0, le=180)]


class DetectorQuery(BaseModel):
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
    pitch_threshold: Angle | None = None
    roll_threshold: Angle | None = None
    yaw_threshold: Angle | None = None
    warped_image: Flag = 0
    use_exif_info: Flag = 1

    def requested_estimators(self) -> list[tuple[str, str]]:
        """(query flag, estimator) pairs for each estimation the client asked for."""
        wanted = [
            ("estimate_head_pose", "head_pose"),
            ("estimate_emotions", "emotions"),
            ("estimate_mask", "mask"),
            ("detect_landmarks68", "landmarks68"),
            ("estimate_quality", "image_quality"),
            ("estimate_gaze", "gaze"),
            ("estimate_eyes_attributes", "eyes"),
            ("estimate_mouth_attributes", "mouth"),
            ("estimate_face_quality", "face_quality"),
        ]
        found = [(flag, name) for flag, name in wanted if getattr(self, flag)]
        for threshold in ("pitch_threshold", "roll_threshold", "yaw_threshold"):
            if getattr(self, threshold) is not None:
                found.append((threshold, "head_pose"))
        return found
