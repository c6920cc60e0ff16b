"""The body estimations: each one declared once, with its JSON shape beside it.

A body is found by the body detector (``detect_body``) and warped to 128x256; these rows run
on the warp (or on the image around the body box). Rows without ``present`` have no model in
this service yet: asking for them is LUNA's licence error naming the estimator.
"""

from __future__ import annotations

from typing import Any

from models.body.clothing_colour import BodyColours, ClothingColour
from serve_app.estimations.declaration import Estimation, Input, Shape, Stage
from serve_app.views.values import b64

# Clothing colours (a classical method: models/body/clothing_colour.py)

#: LUNA's colour names where ours differ.
_LUNA_COLOUR = {"grey": "gray", "unknown": "undefined"}


def _colours(value: ClothingColour) -> list[str]:
    return [_LUNA_COLOUR.get(name, name) for name in value.colours()]


class UpperClothingOut(Shape):
    """Colours of the upper clothing, main one first (LUNA's colour names)."""

    colors: list[str]


class UpperBodyOut(Shape):
    """Upper body attributes: the upper clothing's colours (no headwear or sleeve model)."""

    upper_clothing: UpperClothingOut


def _upper_body(value: ClothingColour) -> dict[str, Any]:
    return {"upper_clothing": {"colors": _colours(value)}}


class LowerGarmentOut(Shape):
    """Colours of the lower garment, main one first (LUNA's colour names)."""

    colors: list[str]


class LowerBodyOut(Shape):
    """Lower body attributes: the lower garment's colours (no garment type or shoes model)."""

    lower_garment: LowerGarmentOut


def _lower_body(value: ClothingColour) -> dict[str, Any]:
    return {"lower_garment": {"colors": _colours(value)}}


def _upper(value: BodyColours) -> ClothingColour:
    return value.upper_body


def _lower(value: BodyColours) -> ClothingColour:
    return value.lower_body


# Body descriptor (a slot: an OSNet-style re-identification model the user configures)


class BodyDescriptorOut(Shape):
    """A body descriptor: unit-length float32 vector, base64."""

    raw_descriptor: str


def _body_descriptor(value: Any) -> dict[str, Any]:
    return {"raw_descriptor": b64(value.vector.astype("<f4").tobytes())}


BODY_ESTIMATIONS: tuple[Estimation, ...] = (
    Estimation(
        "upper_body", "body_attributes", Input.BODY_WARP, Stage.DETECT,
        ("estimate_upper_body",), "body_attributes.estimate_upper_body",
        convert=_upper, present=_upper_body, schema=UpperBodyOut,
    ),
    Estimation(
        "lower_body", "body_attributes", Input.BODY_WARP, Stage.DETECT,
        ("estimate_lower_body",), "body_attributes.estimate_lower_body",
        convert=_lower, present=_lower_body, schema=LowerBodyOut,
    ),
    Estimation(
        "body_descriptor", "body_descriptor", Input.BODY_IMAGE_BOX, Stage.EXTRACT,
        ("estimate_body_descriptor",), "extract_body_descriptor",
        key="descriptor", present=_body_descriptor, schema=BodyDescriptorOut,
    ),
    # Estimators without a model in this service yet.
    Estimation("body_basic_attributes", "body_basic_attributes", Input.BODY_WARP, Stage.DETECT,
               ("estimate_body_basic_attributes",), "body_attributes.estimate_basic_attributes",
               key="basic_attributes"),
    Estimation("accessories", "body_accessories", Input.BODY_WARP, Stage.DETECT,
               ("estimate_accessories",), "body_attributes.estimate_accessories"),
)  # fmt: skip
