"""What the document says that the service must not silently ignore: estimations a route
cannot make, requests that select nothing, stored samples as detector input."""

from __future__ import annotations

from tests.api.helpers import assert_luna_error, detector_images

JPEG = {"Content-Type": "image/jpeg"}


async def test_warped_images_refuse_estimations_on_the_source_image(client, photo_bytes):
    for query in ("estimate_head_pose=1", "detect_landmarks68=1", "yaw_threshold=10"):
        response = await client.post(
            f"/1/detector?warped_image=1&{query}", content=photo_bytes("obama.jpg"), headers=JPEG
        )
        body = assert_luna_error(response, 12012, 400)
        assert "not supported with warped images" in body["detail"]


async def test_sdk_body_estimations_without_an_estimator_are_the_licence_error(client, photo_bytes):
    # Accessories and body age/gender have no model here: asking for them where there are
    # bodies is LUNA's licence error naming the estimator.
    for flag, estimator in (("estimate_accessories", "body_accessories"),
                            ("estimate_body_basic_attributes", "body_basic_attributes")):  # fmt: skip
        response = await client.post(
            f"/1/sdk?detect_body=1&{flag}=1", content=photo_bytes("obama.jpg"), headers=JPEG
        )
        assert estimator in assert_luna_error(response, 11055, 403)["detail"]
    # Without bodies (no detect_body), body estimations have nothing to run on: LUNA
    # estimates what the images have.
    ok = await client.post(
        "/1/sdk?detect_face=1&estimate_accessories=1", content=photo_bytes("obama.jpg"),
        headers=JPEG,
    )
    assert ok.status_code == 200
    # On by default, the body descriptor applies only where there are bodies and a model.
    ok = await client.post("/1/sdk?detect_face=1", content=photo_bytes("obama.jpg"), headers=JPEG)
    assert ok.status_code == 200


async def test_extractor_refuses_a_request_that_extracts_nothing(client):
    response = await client.post(
        "/1/extractor?extract_descriptor=0&extract_basic_attributes=0",
        json=["00000000-0000-4000-8000-000000000000"],
    )
    assert_luna_error(response, 12012, 400)


async def test_detector_takes_stored_samples_by_id(client, photo_bytes):
    stored = detector_images(
        await client.post("/1/detector", content=photo_bytes("group_six.jpg"), headers=JPEG)
    )[0]
    sample_ids = [s["face"]["sample_id"] for s in stored["detections"]["samples"]]
    missing = "00000000-0000-4000-8000-000000000000"
    images = detector_images(
        await client.post("/1/detector?estimate_quality=1", json=[*sample_ids[:2], missing])
    )
    assert [i["filename"] for i in images] == [*sample_ids[:2], missing]
    for image in images[:2]:
        [face] = image["detections"]["samples"]
        detection = face["face"]["detection"]
        assert detection["rect"] == {"x": 0, "y": 0, "width": 250, "height": 250}
        assert set(detection["quality"]) >= {"blurriness", "dark"}
    assert images[2]["status"] == 0 and images[2]["error"]["error_code"] == 13003
    sdk = await client.post("/1/sdk?estimate_face_descriptor=1", json=sample_ids[:1])
    [estimate] = sdk.json()["images_estimations"][0]["estimations"]
    assert estimate["face"]["attributes"]["descriptor"]["score"] > 0.5
