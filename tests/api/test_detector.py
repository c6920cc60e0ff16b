"""POST /1/detector through the real app, in-process estimators, real photos."""

from __future__ import annotations

import base64
import json

import cv2
import msgpack
import numpy as np
import pytest

from tests.api.conftest import make_services, shipped_args
from tests.api.helpers import assert_faces_at, assert_luna_error, detector_images, faces_of
from tests.unit.test_images import rotated_with_orientation_tag

JPEG = {"Content-Type": "image/jpeg"}


async def test_group_photo_as_jpeg(client, photo_bytes, photos):
    response = await client.post("/1/detector", content=photo_bytes("group_six.jpg"), headers=JPEG)
    [image] = detector_images(response)
    assert image["filename"] == "Raw Image"
    assert image["error"] == {"error_code": 0, "desc": "Success", "detail": "Success"}
    assert image["detections"]["filtered_detections"] == {"face_detections": []}
    assert_faces_at(image, photos["group_six.jpg"]["centers"])


async def test_group_photo_as_base64(client, photo_bytes, photos):
    body = base64.b64encode(photo_bytes("group_six.jpg"))
    response = await client.post(
        "/1/detector", content=body, headers={"Content-Type": "image/x-jpeg-base64"}
    )
    [image] = detector_images(response)
    assert_faces_at(image, photos["group_six.jpg"]["centers"])


async def test_multipart_keeps_filenames_and_order_and_a_broken_part_fails_alone(
    client, photo_bytes, photos
):
    files = [
        ("image", ("friends.jpg", photo_bytes("group_six.jpg"), "image/jpeg")),
        ("image", ("broken.jpg", photo_bytes("group_six.jpg")[:500], "image/jpeg")),
        ("image", ("space.png", photo_bytes("astronaut.png"), "image/png")),
        ("image", ("coffee.png", photo_bytes("coffee.png"), None)),  # no part content type
        ("image", ("notes.txt", b"hello", "text/plain")),
    ]
    response = await client.post("/1/detector", files=files)
    images = detector_images(response)
    assert [i["filename"] for i in images] == [
        "friends.jpg",
        "broken.jpg",
        "space.png",
        "coffee.png",
        "notes.txt",
    ]
    assert_faces_at(images[0], photos["group_six.jpg"]["centers"])
    assert images[1]["status"] == 0 and images[1]["error"]["error_code"] == 18002
    assert "detections" not in images[1]
    assert_faces_at(images[2], photos["astronaut.png"]["centers"])
    assert faces_of(images[3]) == []
    assert images[4]["status"] == 0 and images[4]["error"]["error_code"] == 12041


async def test_json_body_with_base64_images(client, photo_bytes, photos):
    body = {
        "images": [
            {
                "image": base64.b64encode(photo_bytes("group_six.jpg")).decode(),
                "mimetype": "image/jpeg",
                "filename": "a.jpg",
            },
            {"image": base64.b64encode(photo_bytes("astronaut.png")).decode(), "filename": "b.png"},
            {"image": "@@not-base64@@", "filename": "c.png"},
        ]
    }
    images = detector_images(await client.post("/1/detector", json=body))
    assert [i["filename"] for i in images] == ["a.jpg", "b.png", "c.png"]
    assert_faces_at(images[0], photos["group_six.jpg"]["centers"])
    assert_faces_at(images[1], photos["astronaut.png"]["centers"])
    assert images[2]["error"]["error_code"] == 18001


@pytest.mark.parametrize(
    "ext,content_type",
    [
        (".png", "image/png"),
        (".bmp", "image/bmp"),
        (".ppm", "image/x-portable-pixmap"),
        (".tiff", "image/tiff"),
        (".bmp", "image/x-bmp-base64"),
        (".tiff", "image/x-tiff-base64"),
        (".png", "image/x-png-base64"),
        (".ppm", "image/x-portable-pixmap-base64"),
    ],
)
async def test_every_image_content_type(client, photo, photos, ext, content_type):
    data = cv2.imencode(ext, photo("astronaut.png"))[1].tobytes()
    if content_type.endswith("-base64"):
        data = base64.b64encode(data)
    response = await client.post(
        "/1/detector", content=data, headers={"Content-Type": content_type}
    )
    [image] = detector_images(response)
    assert_faces_at(image, photos["astronaut.png"]["centers"])


async def test_multiface_policy(client, photo_bytes, photos):
    group = photo_bytes("group_six.jpg")
    [one] = detector_images(
        await client.post("/1/detector?multiface_policy=0", content=group, headers=JPEG)
    )
    assert one["status"] == 0
    assert one["error"]["error_code"] == 11038
    assert one["error"]["detail"] == "Multiple faces found in image Raw Image, detect 6"
    [alone] = detector_images(
        await client.post(
            "/1/detector?multiface_policy=0", content=photo_bytes("obama.jpg"), headers=JPEG
        )
    )
    assert len(faces_of(alone)) == 1
    [all_faces] = detector_images(await client.post("/1/detector", content=group, headers=JPEG))
    [best] = detector_images(
        await client.post("/1/detector?multiface_policy=2", content=group, headers=JPEG)
    )
    [best_face] = faces_of(best)
    assert best_face["score"] == max(face["score"] for face in faces_of(all_faces))


async def test_face_warps(client, photo):
    warp = cv2.resize(photo("tom_hanks_crop.png"), (250, 250))
    data = cv2.imencode(".png", warp)[1].tobytes()
    [image] = detector_images(
        await client.post(
            "/1/detector?warped_image=1", content=data, headers={"Content-Type": "image/png"}
        )
    )
    [face] = faces_of(image)
    assert face["rect"] == {"x": 0, "y": 0, "width": 250, "height": 250}
    not_a_warp = cv2.imencode(".png", photo("tom_hanks_crop.png"))[1].tobytes()
    [bad] = detector_images(
        await client.post(
            "/1/detector?warped_image=1", content=not_a_warp, headers={"Content-Type": "image/png"}
        )
    )
    assert bad["error"]["error_code"] == 11030


async def test_exif_orientation_and_extraction(client, photo):
    data = rotated_with_orientation_tag(photo("astronaut.png"))
    [upright] = detector_images(
        await client.post("/1/detector?extract_exif=1", content=data, headers=JPEG)
    )
    assert upright["exif"] == {"orientation": 6, "make": "Acme", "model": "Camera 3000"}
    [face] = faces_of(upright)
    left_eye, right_eye, _, mouth_left, _ = face["landmarks5"]
    assert left_eye[1] < mouth_left[1] and abs(left_eye[1] - right_eye[1]) < 15
    [as_stored] = detector_images(
        await client.post("/1/detector?use_exif_info=0", content=data, headers=JPEG)
    )
    assert "exif" not in as_stored
    for face in faces_of(as_stored):  # a face lying on its side, if found at all
        left_eye, right_eye, *_ = face["landmarks5"]
        assert abs(left_eye[1] - right_eye[1]) > abs(left_eye[0] - right_eye[0])


async def test_msgpack_when_accepted(client, photo_bytes):
    data = photo_bytes("astronaut.png")
    headers = {"Content-Type": "image/png"}
    as_json = (await client.post("/1/detector", content=data, headers=headers)).json()
    response = await client.post(
        "/1/detector", content=data, headers={**headers, "Accept": "application/msgpack"}
    )
    assert response.headers["content-type"] == "application/msgpack"
    as_msgpack = msgpack.unpackb(response.content)
    for body in (as_json, as_msgpack):  # each request stores its own samples
        for sample in body["images"][0]["detections"]["samples"]:
            assert sample["face"].pop("sample_id") and sample["face"].pop("url")
    assert as_msgpack == as_json


async def test_face_bounding_boxes_in_multipart(client, photo_bytes, photos):
    chandler, joey = [796, 411], [959, 133]
    boxes = [
        {
            "filename": "friends.jpg",
            "face_bounding_boxes": [
                {"x": 740, "y": 335, "width": 115, "height": 150},
                {"x": 900, "y": 50, "width": 120, "height": 165},
            ],
        }
    ]
    files = [
        ("image", ("friends.jpg", photo_bytes("group_six.jpg"), "image/jpeg")),
        ("face_bounding_boxes", ("boxes.json", json.dumps(boxes).encode(), "application/json")),
    ]
    [image] = detector_images(await client.post("/1/detector", files=files))
    assert_faces_at(image, [chandler, joey])


async def test_estimations_without_a_model_name_the_missing_estimator(
    client, make_client, models_dir, photo_bytes
):
    jpeg = photo_bytes("obama.jpg")
    for query, estimator in [
        # Opt-in models (their carriers' terms: README), off in the default profile.
        ("estimate_gaze=1", "gaze"),
        ("estimate_eyes_attributes=1", "eyes"),
    ]:
        response = await client.post(f"/1/detector?{query}", content=jpeg, headers=JPEG)
        body = assert_luna_error(response, 11055, 403)
        assert f"'{estimator}'" in body["detail"]
    # An estimator this service has, switched off in the configuration.
    estimators = {
        **shipped_args()["estimators"],
        "head_pose": {"model": "meanshape_68", "enabled": False},
    }
    without = make_client(make_services(models_dir, estimators=estimators))
    for query in ("estimate_head_pose=1", "yaw_threshold=20"):
        response = await without.post(f"/1/detector?{query}", content=jpeg, headers=JPEG)
        assert "'head_pose'" in assert_luna_error(response, 11055, 403)["detail"]


async def test_bad_requests(client, photo_bytes):
    jpeg = photo_bytes("obama.jpg")
    assert_luna_error(await client.post("/1/detector", content=jpeg), 12017, 400)
    assert_luna_error(
        await client.post("/1/detector", content=jpeg, headers={"Content-Type": "text/plain"}),
        12017,
        400,
    )
    assert_luna_error(await client.post("/1/detector", content=b"", headers=JPEG), 12030, 400)
    body = assert_luna_error(
        await client.post("/1/detector?multiface_policy=3", content=jpeg, headers=JPEG), 12012, 400
    )
    assert "multiface_policy" in body["detail"]
    assert_luna_error(
        await client.post("/1/detector?pitch_threshold=181", content=jpeg, headers=JPEG), 12012, 400
    )
    assert_luna_error(
        await client.post(
            "/1/detector", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        12002,
        400,
    )
    assert_luna_error(await client.post("/1/detector", json={}), 12005, 400)
    body = assert_luna_error(
        await client.post("/1/detector", json={"images": [{"img": "x"}]}), 12022, 400
    )
    assert "images.0" in body["detail"]
    [mismatch] = detector_images(
        await client.post("/1/detector", content=photo_bytes("astronaut.png"), headers=JPEG)
    )
    assert mismatch["error"]["error_code"] == 12025
    assert_luna_error(await client.get("/1/detector"), 12021, 405)


async def test_account_id_is_required(client, photo_bytes):
    jpeg = photo_bytes("obama.jpg")
    response = await client.post(
        "/1/detector", content=jpeg, headers={**JPEG, "Luna-Account-Id": ""}
    )
    assert_luna_error(response, 11036, 403)
    response = await client.post(
        "/1/detector", content=jpeg, headers={**JPEG, "Luna-Account-Id": "not-a-uuid"}
    )
    assert_luna_error(response, 11037, 400)


async def test_limits(make_client, models_dir, photo, photo_bytes):
    limited = make_client(
        make_services(
            models_dir,
            limits={
                "max_images_per_request": 2,
                "max_body_bytes": 600_000,
                "max_image_pixels": 300_000,
            },
        )
    )
    small = cv2.imencode(".png", photo("tom_hanks_crop.png"))[1].tobytes()  # 12.5k pixels
    large = photo_bytes("group_six.jpg")  # 1.1M pixels
    files = [("image", (f"{i}.png", small, "image/png")) for i in range(3)]
    body = assert_luna_error(await limited.post("/1/detector", files=files), 12031, 400)
    assert "limit is 2" in body["detail"]
    files = [
        ("image", ("small.png", small, "image/png")),
        ("image", ("large.jpg", large, "image/jpeg")),
    ]
    ok, too_large = detector_images(await limited.post("/1/detector", files=files))
    assert len(faces_of(ok)) == 1
    assert too_large["error"]["error_code"] == 12031 and "1280x886" in too_large["error"]["detail"]
    huge = np.zeros(700_000, np.uint8).tobytes()
    assert_luna_error(await limited.post("/1/detector", content=huge, headers=JPEG), 12031, 413)


async def test_urls_are_off_by_default(client):
    body = assert_luna_error(
        await client.post("/1/detector", json={"urls": [{"url": "http://127.0.0.1:9/x.jpg"}]}),
        12031,
        400,
    )
    assert "image_urls.enabled" in body["detail"]
