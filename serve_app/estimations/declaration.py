"""What a declaration of one estimation says, and nothing else.

An :class:`Estimation` is everything the service needs to know about one thing it estimates:
which estimator computes it, what it takes and needs first, which query flags and which
policy flag ask for it, where its value sits in LUNA's JSON and how it is written there, its
response schema, how several of it aggregate into one, and the state its filters read. The
plan, flag parsing, handler validation, presenters, response schemas and filters all read
these declarations (:mod:`serve_app.estimations.face`); none of them names an estimation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict


class Input(Enum):
    """What an estimation runs on."""

    IMAGE_BOX = "image and face box"  # the source image around the detection
    LANDMARKS68 = "68 landmarks"
    WARP = "250x250 face warp"
    FACE = "the face so far"  # what other estimations found: runs where the face is
    BODY_IMAGE_BOX = "image and body box"
    BODY_WARP = "128x256 body warp"


class Stage(Enum):
    """The LUNA policy step an estimation belongs to."""

    DETECT = "detect_policy"
    EXTRACT = "extract_policy"


class Place(Enum):
    """Where a face's value sits in LUNA's JSON.

    ``DETECTION``: in the face's ``detection`` (``landmarks68``, ``quality``).
    ``ATTRIBUTES``: in ``detection.attributes`` on /1/detector and in events, in the face's
    ``attributes`` on /1/sdk (``head_pose``, ``emotions``, ``mask``, ...).
    """

    DETECTION = "detection"
    ATTRIBUTES = "attributes"


class Shape(BaseModel):
    """A response schema: what a client reads, for the OpenAPI document and for tests."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Estimation:
    """One estimation of a face or a body, declared once.

    ``task`` is the estimator that computes it (its config key under ``estimators:``).
    ``needs`` run first and must be available; ``wants`` run first where their estimator is
    configured (ISO checks use the eyes where an eyes estimator exists, and say so where not).
    ``policy_flag`` is a dotted path in the stage's policy (``estimate_liveness.estimate``).
    ``convert`` turns the adapter's result into the face's value. ``key``, ``place``,
    ``present`` and ``schema`` say where the value sits in LUNA's JSON, how it is written and
    what its JSON schema is; an estimation without ``present`` has no model here yet and
    answers LUNA's licence error. ``aggregate`` makes one value of several faces' values
    (``aggregate_attributes=1``). ``state`` is the value's LUNA state number (e.g. a mask
    state) that ``<name>_states`` queries and the policy ``filters`` field ``filter_key``
    compare against.
    """

    name: str
    task: str
    input: Input
    stage: Stage
    query_flags: tuple[str, ...]
    policy_flag: str | None
    needs: tuple[str, ...] = ()
    wants: tuple[str, ...] = ()
    convert: Callable[[Any], Any] | None = None
    key: str | None = None
    place: Place = Place.ATTRIBUTES
    present: Callable[[Any], Any] | None = None
    schema: Any = None
    aggregate: Callable[[Sequence[Any]], Any] | None = None
    state: Callable[[Any], int] | None = None
    filter_key: str | None = None

    @property
    def on_body(self) -> bool:
        """Whether it estimates bodies rather than faces."""
        return self.input in (Input.BODY_IMAGE_BOX, Input.BODY_WARP)

    @property
    def after_warps(self) -> bool:
        """Whether it runs once faces and bodies are warped: on a warp, or on what was found
        so far."""
        return self.input in (Input.WARP, Input.FACE, Input.BODY_WARP)

    @property
    def json_key(self) -> str:
        """The key of its value in LUNA's JSON."""
        return self.key or self.name
