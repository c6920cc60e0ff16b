"""POST /1/sdk and the estimations of /1/detector, through the app, on real photos."""

from __future__ import annotations

import base64
import itertools

import cv2
import numpy as np
import pytest

from models import descriptor_format
from serve_app.views.schemas import SdkResponse
from tests.api.helpers import assert_luna_error, detector_images, faces_of

JPEG = {"Content-Type": "image/jpeg"}
PNG = {"Content-Type": "image/png"}
ALL = (
    "detect_face=1&estimate_landmarks5=1&estimate_landmarks68=1&estimate_head_pose=1"
    "&estimate_quality=1&estimate_basic_attributes=1&estimate_face_warp=1"
)


def sdk_images(response) -> list[dict]:
    assert response.status_code == 200, response.text
    body = response.json()
    SdkResponse.model_validate(body)
    return body["images_estimations"]


def identity_at(rect: dict, entry: dict) -> str:
    """The identity of the hand-marked face whose center lies in ``rect``."""
    [identity] = [
        who
        for (x, y), who in zip(entry["centers"], entry["identities"], strict=True)
        if rect["x"] <= x <= rect["x"] + rect["width"]
        and rect["y"] <= y <= rect["y"] + rect["height"]
    ]
    return identity


def descriptor_of(estimation: dict) -> np.ndarray:
    data = base64.b64decode(estimation["face"]["attributes"]["descriptor"]["sdk_descriptor"])
    vector, version = descriptor_format.unpack(data)
    assert version == 1001
    return vector


async def test_every_face_estimation_on_the_group_photo(client, photo_bytes, photos):
    response = await client.post(
        f"/1/sdk?{ALL}", content=photo_bytes("group_six.jpg"), headers=JPEG
    )
    [image] = sdk_images(response)
    assert image["status"] == 1
    faces = [e["face"] for e in image["estimations"]]
    assert len(faces) == 6
    genders = []
    for face in sorted(faces, key=lambda f: f["detection"]["rect"]["x"]):
        detection, attributes = face["detection"], face["attributes"]
        assert len(detection["landmarks5"]) == 5 and len(detection["landmarks68"]) == 68
        assert set(detection["quality"]) == {
            "blurriness",
            "dark",
            "illumination",
            "specularity",
            "light",
        }
        warp = cv2.imdecode(np.frombuffer(base64.b64decode(detection["warp"]), np.uint8), 1)
        assert warp.shape == (250, 250, 3)
        assert set(attributes["head_pose"]) == {"pitch", "roll", "yaw"}
        assert 15 <= attributes["basic_attributes"]["age"] <= 50
        assert "ethnicities" not in attributes["basic_attributes"]  # no model for it
        genders.append(attributes["basic_attributes"]["gender"])
        vector = descriptor_of({"face": face})
        assert vector.shape == (512,) and abs(np.linalg.norm(vector) - 1) < 1e-5
        raw = np.frombuffer(base64.b64decode(attributes["descriptor"]["raw_descriptor"]), "<f4")
        np.testing.assert_allclose(raw, vector, atol=1e-6)
        assert attributes["descriptor"]["score"] > 0.9
    assert genders == [0, 0, 1, 1, 1, 0]  # Rachel, Monica, Ross, Chandler, Joey, Phoebe


async def test_descriptors_tell_people_apart(client, services, photo_bytes, photos):
    """Genuine pairs of independent photos above the verification threshold, impostors below,
    and most pairs of the expression collage (grimaces, hands over the face) above too."""
    faces = []  # (identity, shot, vector)
    for name, entry in photos.items():
        if not (entry.get("identities") or entry.get("same_person")):
            continue
        kind = "png" if name.endswith(".png") else "jpeg"
        response = await client.post(
            "/1/sdk?detect_face=1",
            content=photo_bytes(name),
            headers={"Content-Type": f"image/{kind}"},
        )
        [image] = sdk_images(response)
        for index, estimation in enumerate(image["estimations"]):
            rect = estimation["face"]["detection"]["rect"]
            who = entry.get("same_person") or identity_at(rect, entry)
            shot = f"{name}#{index}" if entry.get("same_person") else name
            faces.append((who, shot, descriptor_of(estimation)))
    extractor = services.estimators.adapter("face_descriptor")
    threshold = extractor.verification_threshold
    genuine, collage, impostor = [], [], []
    for (who_a, shot_a, a), (who_b, _, b) in itertools.combinations(faces, 2):
        similarity = float(extractor.similarity(a @ b))
        if who_a != who_b:
            impostor.append(similarity)
        elif "#" in shot_a:
            collage.append(similarity)
        else:
            genuine.append(similarity)
    assert len(genuine) >= 3 and len(impostor) >= 300 and len(collage) >= 250
    assert min(genuine) > 0.99 and max(impostor) < threshold
    assert np.mean(np.array(collage) >= threshold) > 0.85


async def test_face_warps_as_input_give_the_same_descriptor(client, photo_bytes):
    response = await client.post(
        "/1/sdk?detect_face=1&estimate_face_warp=1", content=photo_bytes("obama.jpg"), headers=JPEG
    )
    [image] = sdk_images(response)
    [estimation] = image["estimations"]
    warp = base64.b64decode(estimation["face"]["detection"]["warp"])
    response = await client.post(
        "/1/sdk?image_type=1&estimate_landmarks68=1", content=warp, headers=JPEG
    )
    [warped] = sdk_images(response)
    [from_warp] = warped["estimations"]
    assert float(descriptor_of(estimation) @ descriptor_of(from_warp)) > 0.97
    # Landmarks are not estimated on warps (as LUNA documents); the face is the whole warp.
    assert "landmarks68" not in from_warp["face"]["detection"]
    assert from_warp["face"]["detection"]["rect"] == {"x": 0, "y": 0, "width": 250, "height": 250}


async def test_without_detect_face_a_raw_image_has_no_estimations(client, photo_bytes):
    [image] = sdk_images(
        await client.post("/1/sdk", content=photo_bytes("obama.jpg"), headers=JPEG)
    )
    assert image["status"] == 1 and image["estimations"] == []


async def test_aggregate_attributes(client, photo_bytes):
    files = [
        ("image", (name, photo_bytes(name), "image/jpeg")) for name in ("obama.jpg", "obama2.jpg")
    ] + [("image", ("friends.jpg", photo_bytes("group_six.jpg"), "image/jpeg"))]
    response = await client.post(
        "/1/sdk?detect_face=1&estimate_basic_attributes=1&aggregate_attributes=1", files=files
    )
    assert response.status_code == 200, response.text
    body = response.json()
    SdkResponse.model_validate(body)
    first, second, group = body["images_estimations"]
    # One person per image: the group photo cannot be aggregated.
    assert group["status"] == 0 and group["error"]["error_code"] == 11038
    aggregated = body["aggregate_estimations"]["face"]["attributes"]
    vector = descriptor_of({"face": {"attributes": aggregated}})
    for single in (first, second):
        assert float(vector @ descriptor_of(single["estimations"][0])) > 0.9
    assert aggregated["basic_attributes"]["gender"] == 1
    assert 35 <= aggregated["basic_attributes"]["age"] <= 60


async def test_score_threshold_filters_poor_descriptors(client, photo_bytes):
    # A face-like blur that the detector still finds but whose descriptor is weak.
    image = cv2.imdecode(np.frombuffer(photo_bytes("obama.jpg"), np.uint8), 1)
    blurred = cv2.imencode(".jpg", cv2.GaussianBlur(image, (0, 0), 12))[1].tobytes()
    files = [
        ("image", ("sharp.jpg", photo_bytes("obama.jpg"), "image/jpeg")),
        ("image", ("blurred.jpg", blurred, "image/jpeg")),
    ]
    response = await client.post("/1/sdk?detect_face=1", files=files)
    sharp, soft = sdk_images(response)
    sharp_score = sharp["estimations"][0]["face"]["attributes"]["descriptor"]["score"]
    soft_faces = soft["estimations"]
    if not soft_faces:
        pytest.skip("the detector found no face in the blurred photo")
    soft_score = soft_faces[0]["face"]["attributes"]["descriptor"]["score"]
    assert soft_score < sharp_score
    threshold = (soft_score + sharp_score) / 2
    response = await client.post(f"/1/sdk?detect_face=1&score_threshold={threshold}", files=files)
    sharp, soft = sdk_images(response)
    assert len(sharp["estimations"]) == 1
    assert soft["estimations"] == []
    [filtered] = soft["filtered_estimations"]["faces"]
    [reason] = filtered["filter_reasons"]
    assert reason["filter_name"] == "score_threshold" and reason["threshold_value"] == threshold


@pytest.mark.parametrize(
    "query,estimator",
    [
        ("estimate_glasses=1", "glasses"),
        ("estimate_eyes_attributes=1", "eyes"),
        ("estimate_gaze=1", "gaze"),
        ("estimate_liveness=1", "liveness"),
        ("liveness_states=1", "liveness"),
    ],
)
async def test_estimators_not_built_yet_are_named(client, photo_bytes, query, estimator):
    response = await client.post(
        f"/1/sdk?detect_face=1&{query}", content=photo_bytes("obama.jpg"), headers=JPEG
    )
    assert f"'{estimator}'" in assert_luna_error(response, 11055, 403)["detail"]


async def test_detector_estimations_and_angle_filters(client, photo_bytes):
    group = photo_bytes("group_six.jpg")
    query = "estimate_head_pose=1&detect_landmarks68=1&estimate_quality=1"
    [image] = detector_images(
        await client.post(f"/1/detector?{query}", content=group, headers=JPEG)
    )
    faces = faces_of(image)
    assert len(faces) == 6
    for face in faces:
        assert len(face["landmarks68"]) == 68
        assert set(face["quality"]) == {
            "blurriness",
            "dark",
            "illumination",
            "specularity",
            "light",
        }
        assert set(face["attributes"]["head_pose"]) == {"pitch", "roll", "yaw"}
    yaws = sorted(abs(f["attributes"]["head_pose"]["yaw"]) for f in faces)
    limit = int((yaws[2] + yaws[3]) / 2)  # half the faces turned further than this
    [filtered] = detector_images(
        await client.post(
            f"/1/detector?estimate_head_pose=1&yaw_threshold={limit}", content=group, headers=JPEG
        )
    )
    kept = faces_of(filtered)
    dropped = filtered["detections"]["filtered_detections"]["face_detections"]
    assert len(kept) + len(dropped) == 6 and len(dropped) >= 3
    assert all(abs(f["attributes"]["head_pose"]["yaw"]) <= limit for f in kept)
    for entry in dropped:
        reasons = {r["filter_name"]: r for r in entry["filter_reasons"]}
        assert abs(reasons["yaw_threshold"]["object_value"]) > limit
        assert reasons["yaw_threshold"]["threshold_value"] == limit
        assert entry["detection"]["sample"]["detection"]["attributes"]["head_pose"]
