"""Emotions, mask and mouth through the REST API, on real photos: /1/sdk, /1/detector,
aggregation, mask_states and handler policies."""

from __future__ import annotations

import cv2
import numpy as np

from tests.api.conftest import make_services, shipped_args
from tests.api.helpers import detector_images, faces_of
from tests.api.test_sdk import JPEG, sdk_images

FACE_ONLY = "detect_face=1&estimate_face_descriptor=0"


def with_drawn_mask(image: np.ndarray, face: dict) -> bytes:
    """The photo with a light-blue surgical mask drawn from the nose down over ``face``
    (its /1/sdk estimation with landmarks5)."""
    rect, landmarks = face["detection"]["rect"], face["detection"]["landmarks5"]
    x1, y1, w, h = rect["x"], rect["y"], rect["width"], rect["height"]
    x2, y2, nose_y = x1 + w, y1 + h, landmarks[2][1]
    top = nose_y - 0.08 * h
    polygon = np.array(
        [[x1 + 0.05 * w, top], [x2 - 0.05 * w, top], [x2 - 0.12 * w, y2 - 0.05 * h],
         [(x1 + x2) / 2, y2 + 0.02 * h], [x1 + 0.12 * w, y2 - 0.05 * h]],
        np.int32,
    )  # fmt: skip
    masked = image.copy()
    cv2.fillPoly(masked, [polygon], (235, 206, 135))
    ok, data = cv2.imencode(".jpg", masked)
    assert ok
    return data.tobytes()


async def sdk_faces(client, query: str, data: bytes) -> list[dict]:
    [image] = sdk_images(await client.post(f"/1/sdk?{query}", content=data, headers=JPEG))
    return [e["face"] for e in image["estimations"]]


async def test_emotions_read_the_expression_of_each_portrait(client, photo_bytes):
    query = f"{FACE_ONLY}&estimate_emotions=1"
    for photo, expected in (("frontal_smile.jpg", "happiness"),
                            ("frontal_surprise.jpg", "surprise")):  # fmt: skip
        [face] = await sdk_faces(client, query, photo_bytes(photo))
        emotions = face["attributes"]["emotions"]
        assert emotions["predominant_emotion"] == expected, (photo, emotions)
        estimations = emotions["estimations"]
        assert set(estimations) == {
            "anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"}  # fmt: skip
        assert abs(sum(estimations.values()) - 1) < 1e-3
        assert estimations[expected] > 0.9


async def test_mask_tells_a_drawn_mask_from_a_bare_face(client, photo_bytes, photo):
    query = f"{FACE_ONLY}&estimate_mask=1&estimate_landmarks5=1"
    [bare] = await sdk_faces(client, query, photo_bytes("obama.jpg"))
    assert bare["attributes"]["mask"]["predominant_mask"] == "missing"
    [masked] = await sdk_faces(client, query, with_drawn_mask(photo("obama.jpg"), bare))
    mask = masked["attributes"]["mask"]
    assert mask["predominant_mask"] == "medical_mask", mask
    assert mask["estimations"]["medical_mask"] > bare["attributes"]["mask"]["estimations"][
        "medical_mask"] + 0.5  # fmt: skip


async def test_mask_states_filter_faces_by_their_mask(client, photo_bytes):
    data = photo_bytes("obama.jpg")
    [kept] = await sdk_faces(client, f"{FACE_ONLY}&mask_states=1,3", data)
    assert kept["attributes"]["mask"]["predominant_mask"] == "missing"
    response = await client.post(f"/1/sdk?{FACE_ONLY}&mask_states=2", content=data, headers=JPEG)
    [image] = sdk_images(response)
    assert image["estimations"] == []
    [filtered] = image["filtered_estimations"]["faces"]
    assert filtered["filter_reasons"] == [
        {"filter_name": "mask_states", "object_value": 1, "threshold_value": [2]}
    ]
    bad = await client.post(f"/1/sdk?{FACE_ONLY}&mask_states=4", content=data, headers=JPEG)
    assert bad.status_code == 400 and bad.json()["error_code"] == 12012


async def test_mouth_opened_and_smile(client, photo_bytes):
    query = f"{FACE_ONLY}&estimate_mouth_attributes=1"
    [surprised] = await sdk_faces(client, query, photo_bytes("frontal_surprise.jpg"))
    [smiling] = await sdk_faces(client, query, photo_bytes("frontal_smile.jpg"))
    surprised, smiling = (f["attributes"]["mouth_attributes"] for f in (surprised, smiling))
    assert surprised["opened"] > 0.9 and surprised["smile"] < 0.2, surprised
    assert smiling["smile"] > 0.8, smiling
    for mouth in (surprised, smiling):
        assert set(mouth) <= {"opened", "smile", "occluded"}


async def test_detector_puts_the_estimations_in_the_detections_attributes(client, photo_bytes):
    query = "estimate_emotions=1&estimate_mask=1&estimate_mouth_attributes=1"
    [image] = detector_images(
        await client.post(
            f"/1/detector?{query}", content=photo_bytes("friends_sunglasses.jpg"), headers=JPEG
        )
    )
    faces = faces_of(image)
    assert len(faces) == 5
    for face in faces:
        assert {"emotions", "mask", "mouth_attributes"} <= set(face["attributes"])
        assert face["attributes"]["mask"]["predominant_mask"] == "missing"
    # Everyone in the photo smiles.
    assert all(f["attributes"]["emotions"]["predominant_emotion"] == "happiness" for f in faces)


async def test_aggregate_attributes_averages_emotions_and_masks(client, photo_bytes):
    files = [
        ("image", ("a.jpg", photo_bytes("obama.jpg"), "image/jpeg")),
        ("image", ("b.jpg", photo_bytes("obama2.jpg"), "image/jpeg")),
    ]
    response = await client.post(
        f"/1/sdk?{FACE_ONLY}&estimate_emotions=1&estimate_mask=1&aggregate_attributes=1",
        files=files,
    )
    assert response.status_code == 200, response.text
    singles = [e["face"]["attributes"] for i in response.json()["images_estimations"]
               for e in i["estimations"]]  # fmt: skip
    merged = response.json()["aggregate_estimations"]["face"]["attributes"]
    for name in ("anger", "happiness", "neutral"):
        mean = sum(s["emotions"]["estimations"][name] for s in singles) / 2
        assert abs(merged["emotions"]["estimations"][name] - mean) < 1e-5
    assert merged["mask"]["predominant_mask"] == "missing"


async def test_handler_policies_estimate_and_filter_by_mask(client, photo_bytes, photo):
    policies = {
        "detect_policy": {"estimate_mask": 1, "estimate_emotions": 1},
        "extract_policy": {"extract_face_descriptor": 1},
        "storage_policy": {
            "face_policy": {"store_face": 1, "filters": {"mask": [1]}},
            "event_policy": {"store_event": 1},
        },
    }
    created = await client.post("/1/handlers", json={"policies": policies})
    assert created.status_code == 201, created.text
    handler_id = created.json()["handler_id"]
    url = f"/1/handlers/{handler_id}/events"
    bare = await client.post(url, content=photo_bytes("obama.jpg"), headers=JPEG)
    assert bare.status_code == 201, bare.text
    [event] = bare.json()["events"]
    detection = event["detections"][0]["samples"]["face"]["detection"]
    assert detection["attributes"]["mask"]["predominant_mask"] == "missing"
    assert "emotions" in detection["attributes"]
    assert event["face"] is not None  # a bare face passes the face policy's mask filter

    [face] = await sdk_faces(client, f"{FACE_ONLY}&estimate_landmarks5=1",
                             photo_bytes("obama.jpg"))  # fmt: skip
    masked = await client.post(
        url, content=with_drawn_mask(photo("obama.jpg"), face), headers=JPEG
    )
    assert masked.status_code == 201, masked.text
    [event] = masked.json()["events"]
    attributes = event["detections"][0]["samples"]["face"]["detection"]["attributes"]
    assert attributes["mask"]["predominant_mask"] == "medical_mask"
    assert event["face"] is None  # a masked face is not stored


# The opt-in estimators (their carriers state AGPL-3.0 / CC-BY-NC-SA terms: README), as
# docs/estimators.md shows how to turn them on.
OPT_IN = {
    "glasses": {"model": "liveness_glasses"},
    "eyes": {
        "model": "mediapipe_face_landmarker_v2",
        "extra_models": {"blendshapes": "mediapipe_face_blendshapes_v2"},
    },
    "gaze": {"model": "mediapipe_face_landmarker_v2_gaze"},
}


async def test_opt_in_glasses_eyes_and_gaze(make_client, models_dir, photo_bytes):
    estimators = {**shipped_args()["estimators"], **OPT_IN}
    client = make_client(make_services(models_dir, estimators=estimators))
    query = f"{FACE_ONLY}&estimate_glasses=1&estimate_eyes_attributes=1&estimate_gaze=1"
    faces = await sdk_faces(client, query, photo_bytes("friends_sunglasses.jpg"))
    assert len(faces) == 5
    # The young man top left (the face highest in the photo) wears sunglasses; nobody else
    # wears glasses.
    faces.sort(key=lambda f: f["detection"]["rect"]["y"])
    states = [f["attributes"]["glasses"]["glasses"] for f in faces]
    assert states == ["glasses"] + ["no_glasses"] * 4
    for face in faces:
        eyes = face["attributes"]["eyes_attributes"]
        for eye in (eyes["left_eye"], eyes["right_eye"]):
            assert eye["state"] in ("open", "closed")
            assert len(eye["iris_landmarks"]) == 5 and len(eye["eyelid_landmarks"]) == 16
        gaze = face["attributes"]["gaze"]
        assert -90 <= gaze["yaw"] <= 90 and -90 <= gaze["pitch"] <= 90
    [laughing] = await sdk_faces(client, query, photo_bytes("eyes_closed_laugh.jpg"))
    eyes = laughing["attributes"]["eyes_attributes"]
    assert eyes["left_eye"]["state"] == eyes["right_eye"]["state"] == "closed"
    [portrait] = await sdk_faces(client, query, photo_bytes("frontal_surprise.jpg"))
    eyes = portrait["attributes"]["eyes_attributes"]
    assert eyes["left_eye"]["state"] == eyes["right_eye"]["state"] == "open"


async def test_an_aggregated_event_carries_the_mean_emotions_and_mask(client, photo_bytes):
    policies = {
        "detect_policy": {"estimate_emotions": 1, "estimate_mask": 1},
        "storage_policy": {"event_policy": {"store_event": 1}},
    }
    created = await client.post("/1/handlers", json={"policies": policies})
    url = f"/1/handlers/{created.json()['handler_id']}/events?aggregate_attributes=1"
    files = [
        ("image", ("a.jpg", photo_bytes("frontal_smile.jpg"), "image/jpeg")),
        ("image", ("b.jpg", photo_bytes("frontal_surprise.jpg"), "image/jpeg")),
    ]
    response = await client.post(url, files=files)
    assert response.status_code == 201, response.text
    [event] = response.json()["events"]
    singles = [d["samples"]["face"]["detection"]["attributes"] for d in event["detections"]]
    merged = event["aggregate_estimations"]["face"]["attributes"]
    for name in ("happiness", "surprise"):
        mean = sum(s["emotions"]["estimations"][name] for s in singles) / 2
        assert abs(merged["emotions"]["estimations"][name] - mean) < 1e-5
        assert 0.3 < merged["emotions"]["estimations"][name] < 0.7  # one face each
    assert merged["mask"]["predominant_mask"] == "missing"
