"""Person detection, body warps and clothing colours on real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.body.body_align import BODY_WARP_HEIGHT, BODY_WARP_WIDTH, body_warp, body_warp_window
from models.body.clothing_colour import COLOURS, ClothingColourEstimator, estimate_clothing_colours
from models.body.person_detector import PersonDetector, tile_windows
from models.provision.manifest import load_manifest
from models.registry import build_adapter


@pytest.fixture(scope="session")
def body_detector(models_dir) -> PersonDetector:
    entry = load_manifest()["ssdlite_person"]
    path = entry.path(models_dir)
    if not path.is_file():
        pytest.fail(f"{path} is missing; run `python -m models.provision`", pytrace=False)
    return PersonDetector(path, **entry.options)


@pytest.fixture(scope="session")
def bodies(body_detector, photo):
    """``bodies(name)``: (image, detections) of a test photo, detections left to right."""
    cache = {}

    def get(name: str):
        if name not in cache:
            image = photo(name)
            found = body_detector.run([image])[0]
            cache[name] = (image, sorted(found, key=lambda d: float(d.box[0])))
        return cache[name]

    return get


def _inside(point, box) -> bool:
    x, y = point
    return bool(box[0] <= x <= box[2] and box[1] <= y <= box[3])


def _matched(points, boxes) -> int:
    """How many marked people get a box of their own: the largest matching of points to the
    boxes that contain them (augmenting paths; a box covering two people counts once)."""
    owner: dict[int, int] = {}

    def assign(p: int, seen: set[int]) -> bool:
        for b, box in enumerate(boxes):
            if b in seen or not _inside(points[p], box):
                continue
            seen.add(b)
            if b not in owner or assign(owner[b], seen):
                owner[b] = p
                return True
        return False

    return sum(assign(p, set()) for p in range(len(points)))


def _box_at(found, point):
    """The smallest detection containing ``point``."""
    boxes = [d for d in found if _inside(point, d.box)]
    assert boxes, f"no body at {point}"
    return min(boxes, key=lambda d: d.area)


def test_finds_most_of_a_team_and_nobody_in_the_crowd_behind(bodies, photos):
    entry = photos["basketball_team.jpg"]
    _, found = bodies("basketball_team.jpg")
    boxes = [d.box for d in found]
    # 16 people, 11 standing behind 5 crouching; the stands behind are full of small people.
    assert _matched(entry["body_centers"], boxes) >= 14
    assert len(found) <= entry["bodies"] + 1
    for box in boxes:  # every box is on a marked person: none on the crowd
        assert any(_inside(p, box) for p in entry["body_centers"]), box
    assert all(0.5 <= d.score <= 1.0 for d in found)


def test_tiles_find_the_people_the_whole_frame_misses(body_detector, photo, photos):
    """At 300x300 the whole team photo leaves each player ~20 px wide: most go unseen."""
    image = photo("basketball_team.jpg")
    whole = PersonDetector(body_detector.model.path, tiles="none").run([image])[0]
    tiled = body_detector.run([image])[0]
    assert len(whole) <= 8 < 14 <= len(tiled)


def test_whole_bodies_of_walking_people(bodies, photos):
    entry = photos["street_bus.jpg"]
    _, found = bodies("street_bus.jpg")
    # The two men in the middle are found head to feet (about y 400 to 900 in the photo).
    for point in entry["body_centers"][1:3]:
        box = _box_at(found, point).box
        assert box[1] < 430 and box[3] > 840, box
    assert 2 <= _matched(entry["body_centers"], [d.box for d in found]) <= entry["bodies"]
    for d in found:
        assert any(_inside(p, d.box) for p in entry["body_centers"]), d.box


def test_three_players(bodies, photos):
    entry = photos["spurs_three.jpg"]
    _, found = bodies("spurs_three.jpg")
    assert len(found) == entry["bodies"]
    assert _matched(entry["body_centers"], [d.box for d in found]) == entry["bodies"]


@pytest.mark.parametrize("name", ["coffee.png", "chelsea.png"])
def test_no_body_without_people(bodies, name):
    _, found = bodies(name)
    assert found == []


def test_a_batch_gives_each_image_its_own_result(body_detector, photo, bodies):
    names = ["street_bus.jpg", "coffee.png", "basketball_team.jpg", "spurs_three.jpg"]
    batch = body_detector.run([photo(n) for n in names])
    for name, result in zip(names, batch, strict=True):
        alone = bodies(name)[1]
        assert len(result) == len(alone)
        ordered = sorted(result, key=lambda d: float(d.box[0]))
        for a, b in zip(ordered, alone, strict=True):
            np.testing.assert_allclose(a.box, b.box, atol=0.5)
            assert abs(a.score - b.score) < 1e-4


def test_tiles_span_the_image_and_overlap():
    tiles = tile_windows(1237, 800, 3, 1, 0.5)
    assert [t[0] for t in tiles] == [0, 309, 618]
    assert all(t[1] == 0 and t[3] == 800 for t in tiles)
    assert tiles[-1][0] + tiles[-1][2] == 1237
    assert tiles[0][0] + tiles[0][2] - tiles[1][0] == pytest.approx(tiles[0][2] / 2, abs=1)
    grid = tile_windows(1000, 600, 2, 2, 0.3)
    assert len(grid) == 4 and grid[3][0] + grid[3][2] == 1000 and grid[3][1] + grid[3][3] == 600


def test_body_warp_keeps_the_person_unstretched(bodies):
    image, found = bodies("street_bus.jpg")
    d = _box_at(found, (290, 580))  # a standing man: a box narrower than 1:2
    warp = body_warp(image, d.box)
    assert warp.shape == (BODY_WARP_HEIGHT, BODY_WARP_WIDTH, 3) and warp.dtype == np.uint8
    x1, y1, x2, y2 = body_warp_window(d.box)
    assert (x2 - x1) * 2 == pytest.approx(y2 - y1)
    assert y1 == pytest.approx(d.box[1]) and y2 == pytest.approx(d.box[3])  # full height
    # The warp is the window resized: compare with a plain crop and resize.
    crop = image[round(y1) : round(y2), round(x1) : round(x2)]
    expected = cv2.resize(crop, (BODY_WARP_WIDTH, BODY_WARP_HEIGHT), interpolation=cv2.INTER_AREA)
    assert np.abs(warp.astype(int) - expected.astype(int)).mean() < 6


def test_body_warp_pads_outside_the_image_with_black(photo):
    image = photo("street_bus.jpg")
    # The man cut by the right edge: his narrow box widens to 1:2 past the image.
    box = [700, 330, 810, 880]
    warp = body_warp(image, box)
    x1, _, x2, _ = body_warp_window(box)
    assert x2 > image.shape[1]
    outside = round((image.shape[1] - x1) / (x2 - x1) * BODY_WARP_WIDTH) + 1
    assert not warp[:, outside:].any()
    assert warp[:, : outside - 2].mean() > 20


@pytest.mark.parametrize(
    "name,point,upper,lower",
    [
        # Checked by eye: the beige teddy coat and blue jeans of the man left of centre, the
        # black coat and blue jeans of the man beside him.
        ("street_bus.jpg", (130, 600), "beige", None),
        ("street_bus.jpg", (290, 580), "black", "blue"),
        # The team: red jersey and red shorts (#13); the white-haired official: red polo
        # shirt, black trousers.
        ("basketball_team.jpg", (745, 300), "red", "red"),
        ("basketball_team.jpg", (1060, 360), "red", "black"),
        # White jerseys and white shorts.
        ("spurs_three.jpg", (120, 270), "white", "white"),
        ("spurs_three.jpg", (260, 300), "white", "white"),
        ("spurs_three.jpg", (385, 320), "white", "white"),
    ],
)
def test_clothing_colours_seen_by_eye(bodies, name, point, upper, lower):
    image, found = bodies(name)
    colours = estimate_clothing_colours(body_warp(image, _box_at(found, point).box))
    assert colours.upper_body.colour == upper
    if lower is not None:
        assert colours.lower_body.colour == lower
    for band in (colours.upper_body, colours.lower_body):
        assert 0.35 <= band.score <= 1.0
        assert sum(band.shares.values()) == pytest.approx(1.0, abs=1e-3)
        assert set(band.shares) <= set(COLOURS)


def test_a_striped_shirt_is_multicolored(bodies):
    """The same man with his coat repainted in four vertical stripes of other colours."""
    image, found = bodies("street_bus.jpg")
    warp = body_warp(image, _box_at(found, (290, 580)).box)
    striped = warp.copy()
    stripes = [(0, 0, 200), (200, 0, 0), (0, 200, 0), (0, 220, 220)]  # BGR red, blue, green, yellow
    for k, colour in enumerate(stripes):
        striped[50:130, 40 + 12 * k : 52 + 12 * k] = colour
    before = estimate_clothing_colours(warp).upper_body
    after = estimate_clothing_colours(striped).upper_body
    assert before.colour == "black" and after.colour == "multicolored"
    assert {"red", "blue", "green", "yellow"} <= set(after.colours(at_least=0.15))


def test_adapters_come_from_the_registry(models_dir):
    colours = build_adapter("body_attributes", {}, models_dir)
    assert isinstance(colours, ClothingColourEstimator)
    detector = build_adapter("body_detector", {"model": "ssdlite_person"}, models_dir)
    assert isinstance(detector, PersonDetector)
    assert detector.describe()["family"] == "ssdlite_person"
