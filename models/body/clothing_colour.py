"""Upper and lower clothing colour of a body warp, by naming the colours of its pixels.

A classical method, no model: every pixel of two bands of the 128x256 body warp
(:func:`models.body.body_align.body_warp`) gets a colour name from a fixed table of hue,
saturation and value ranges; the band's colour is the name most of its clothing pixels
have, and its score is the share of those pixels that have it.

* Bands: rows 20-50 % of the warp (below the head: chest and belly) for the upper body,
  rows 55-90 % (thighs to shins) for the lower body; in both, the central 36 % of the columns
  (the torso and legs of a person standing in the middle of the warp, not the arms or the
  background beside them). Pure black pixels (0, 0, 0) are the warp's padding, not clothing.
* Skin is taken out first when it is a minority of the band (bare arms crossing the chest,
  legs below shorts): pixels inside the classic YCrCb skin cluster (Cr 135-175, Cb 85-135;
  Chai and Ngan 1999) that lie at warm hues. When more than 60 % of a band looks like skin,
  nothing is taken out: it is then more likely beige, brown or orange clothing.
* Names: LUNA's palette (``AttributesPallette`` in VisionLabs' lunasdk): black, white, grey,
  red, orange, yellow, green, blue, purple, pink, brown, beige, khaki and multicolored.
  :data:`COLOUR_TABLE` gives each pixel its name, first matching row wins; hue in degrees
  (0-360), saturation and value in [0, 1] (HSV).
* Multicolored: when no name covers ``MULTICOLOUR_BELOW`` (35 %) of a band's clothing
  pixels, the band is "multicolored", with the score 1 - the largest share.

The bands assume a whole, upright body in the box. On real photos (tests/unit/test_bodies.py)
it named, as seen by eye, a red jersey and red shorts, a red polo shirt over black trousers,
white jerseys and shorts, a beige coat, a black coat and blue jeans.

Limits: it names the pixels, not the garment. A jacket open over a shirt mixes both; a
person's neighbour overlapping the box lends their clothes; crouching or sitting people put
their knees in the "upper" band, and a box of head and shoulders only puts the face and hair
there; strong coloured light shifts hues, and deep shadows read as black. Beige, khaki and
brown are ranges of one hue family split by lightness and saturation and read unreliably
under warm light (the standard khaki #C3B091 reads beige); white fabric in shade can read
grey. The score says how uniform the band was, not how sure the name is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from models.base import Adapter

UPPER_ROWS = (0.20, 0.50)
LOWER_ROWS = (0.55, 0.90)
COLUMNS = (0.32, 0.68)
MULTICOLOUR_BELOW = 0.35
# A band whose share of skin-like pixels exceeds this is taken as skin-coloured clothing.
SKIN_AT_MOST = 0.6

#: The naming table: (name, hue from, hue to, saturation from, saturation to, value from,
#: value to), first matching row wins. Hue in degrees, saturation and value in [0, 1].
#: Dark pixels are black whatever their hue; pale ones are white or grey; the rest are named
#: by hue, the warm hues split by lightness (brown, khaki) and paleness (beige, pink).
COLOUR_TABLE: tuple[tuple[str, float, float, float, float, float, float], ...] = (
    # name      hue        saturation  value
    ("black", 0, 360, 0.00, 1.01, 0.00, 0.10),
    ("black", 0, 360, 0.00, 0.50, 0.00, 0.25),  # dark navy (saturated) stays blue
    ("black", 0, 360, 0.00, 0.30, 0.00, 0.30),
    ("white", 0, 360, 0.00, 0.15, 0.75, 1.01),
    ("grey", 0, 360, 0.00, 0.20, 0.00, 1.01),
    ("khaki", 38, 75, 0.20, 0.65, 0.30, 0.80),  # muted yellow-brown, olive-ish
    ("beige", 15, 60, 0.12, 0.45, 0.45, 1.01),  # pale warm: cream, sand, camel
    ("brown", 15, 50, 0.20, 1.01, 0.00, 0.55),  # dark warm
    ("brown", 0, 15, 0.20, 0.70, 0.00, 0.40),  # dark, dull red
    ("khaki", 38, 75, 0.20, 1.01, 0.00, 0.60),  # olive drab
    ("pink", 340, 360, 0.20, 0.55, 0.65, 1.01),  # pale, light red
    ("pink", 0, 15, 0.20, 0.50, 0.65, 1.01),
    ("red", 340, 360, 0.20, 1.01, 0.00, 1.01),
    ("red", 0, 15, 0.20, 1.01, 0.00, 1.01),
    ("orange", 15, 42, 0.20, 1.01, 0.00, 1.01),
    ("yellow", 42, 70, 0.20, 1.01, 0.00, 1.01),
    ("green", 70, 175, 0.20, 1.01, 0.00, 1.01),
    ("blue", 175, 255, 0.20, 1.01, 0.00, 1.01),
    ("purple", 255, 290, 0.20, 1.01, 0.00, 1.01),
    ("pink", 290, 340, 0.20, 1.01, 0.60, 1.01),  # magenta: light is pink, dark is purple
    ("purple", 290, 340, 0.20, 1.01, 0.00, 0.60),
)
#: The names a pixel can get, in table order; "multicolored" is a band's name only.
COLOURS: tuple[str, ...] = tuple(dict.fromkeys(row[0] for row in COLOUR_TABLE))
MULTICOLORED = "multicolored"


@dataclass(frozen=True)
class ClothingColour:
    """The colour of one band: its name, the share of its clothing pixels that have it,
    and every name's share (what a multi-colour list, as LUNA's, is made from)."""

    colour: str
    score: float
    shares: dict[str, float] = field(default_factory=dict)

    def colours(self, at_least: float = 0.25) -> list[str]:
        """Names covering at least ``at_least`` of the band, largest first."""
        names = [n for n, s in sorted(self.shares.items(), key=lambda i: -i[1]) if s >= at_least]
        return names or [self.colour]


@dataclass(frozen=True)
class BodyColours:
    """Clothing colours of one body warp: the upper and the lower body."""

    upper_body: ClothingColour
    lower_body: ClothingColour


def _pixel_names(hsv: np.ndarray) -> np.ndarray:
    """Index into :data:`COLOURS` of each (hue degrees, saturation, value) pixel."""
    hue, sat, val = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    names = np.full(len(hsv), -1, dtype=np.int64)
    for name, h0, h1, s0, s1, v0, v1 in COLOUR_TABLE:
        match = (
            (names < 0)
            & (hue >= h0) & (hue < h1) & (sat >= s0) & (sat < s1) & (val >= v0) & (val < v1)
        )  # fmt: skip
        names[match] = COLOURS.index(name)
    return names


def _skin(pixels_bgr: np.ndarray, hue: np.ndarray) -> np.ndarray:
    """Pixels in the YCrCb skin cluster at warm hues (Chai and Ngan 1999)."""
    ycrcb = cv2.cvtColor(pixels_bgr[None], cv2.COLOR_BGR2YCrCb)[0].astype(np.int32)
    cr, cb = ycrcb[:, 1], ycrcb[:, 2]
    warm = (hue < 50) | (hue >= 340)
    return (cr >= 135) & (cr <= 175) & (cb >= 85) & (cb <= 135) & warm


def band_colour(warp: np.ndarray, rows: tuple[float, float]) -> ClothingColour:
    """The clothing colour of the band ``rows`` (fractions of the height) of a body warp."""
    height, width = warp.shape[:2]
    band = warp[
        round(rows[0] * height) : round(rows[1] * height),
        round(COLUMNS[0] * width) : round(COLUMNS[1] * width),
    ].reshape(-1, 3)
    band = band[band.any(axis=1)]  # (0, 0, 0) is the warp's padding
    if len(band) == 0:
        return ClothingColour("unknown", 0.0, {})
    hsv = cv2.cvtColor(band[None], cv2.COLOR_BGR2HSV_FULL)[0].astype(np.float32)
    hsv[:, 0] *= 360.0 / 256.0
    hsv[:, 1:] /= 255.0
    skin = _skin(band, hsv[:, 0])
    if 0 < skin.mean() <= SKIN_AT_MOST:
        hsv = hsv[~skin]
    counts = np.bincount(_pixel_names(hsv), minlength=len(COLOURS)).astype(np.float64)
    shares = counts / counts.sum()
    best = int(np.argmax(shares))
    table = {name: round(float(s), 4) for name, s in zip(COLOURS, shares, strict=True) if s > 0}
    if shares[best] < MULTICOLOUR_BELOW:
        return ClothingColour(MULTICOLORED, round(1.0 - float(shares[best]), 4), table)
    return ClothingColour(COLOURS[best], round(float(shares[best]), 4), table)


def estimate_clothing_colours(warp: np.ndarray) -> BodyColours:
    """Upper and lower clothing colour of a 128x256 BGR body warp."""
    return BodyColours(
        upper_body=band_colour(warp, UPPER_ROWS), lower_body=band_colour(warp, LOWER_ROWS)
    )


class ClothingColourEstimator(Adapter):
    """Adapter form of :func:`estimate_clothing_colours` (no model file)."""

    task = "body_attributes"
    family = "classical"
    in_ingress = True

    def infer(self, prepared: Sequence[np.ndarray]) -> list[BodyColours]:
        """Clothing colours of each body warp."""
        return [estimate_clothing_colours(warp) for warp in prepared]
