"""What the client sends (bodies, types, queries, credentials) and how it reads answers,
JSON or msgpack, against a mock service."""

from __future__ import annotations

import base64
import json

import httpx
import luna_client
import msgpack
import pytest
from luna_client import ImageFile, models, responses

from tests.client.helpers import ACCOUNT, HANDLER_ID, Script, answer

JPEG = b"\xff\xd8\xff\xe0" + b"j" * 16
PNG = b"\x89PNG\r\n\x1a\n" + b"p" * 16
DETECTED = {
    "images": [
        {
            "filename": "Raw Image",
            "status": 1,
            "error": {"error_code": 0, "desc": "Success", "detail": "Success"},
            "detections": {
                "samples": [
                    {
                        "face": {
                            "detection": {
                                "rect": {"x": 1, "y": 2, "width": 30, "height": 40},
                                "landmarks5": [[1, 2]] * 5,
                                "score": 0.9,
                            }
                        }
                    }
                ],
                "filtered_detections": {"face_detections": []},
            },
        }
    ]
}


def sync_client(script: Script, **options) -> luna_client.LunaClient:
    return luna_client.LunaClient("http://luna/", transport=script.sync(), **options)


def test_one_image_is_the_raw_body_with_its_sniffed_type():
    script = Script([lambda request: answer(DETECTED, 200, request)])
    with sync_client(script, account_id=ACCOUNT) as luna:
        found = luna.detect(JPEG, multiface_policy=1, estimate_head_pose=True)
    request = script.requests[0]
    assert (request.method, request.url.path) == ("POST", "/1/detector")
    assert request.headers["content-type"] == "image/jpeg"
    assert request.headers["accept"] == "application/json"
    assert request.headers["luna-account-id"] == ACCOUNT
    assert request.content == JPEG
    assert dict(request.url.params) == {"multiface_policy": "1", "estimate_head_pose": "1"}
    assert isinstance(found, models.DetectorResponse)
    assert found.images[0].detections.samples[0].face.detection.rect.width == 30


def test_several_images_go_as_multipart_with_their_names():
    script = Script([answer({"images_estimations": []})])
    with sync_client(script) as luna:
        luna.sdk([JPEG, ImageFile(PNG, filename="two.png")])
    request = script.requests[0]
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    body = request.content
    assert b'filename="image-0"' in body and b'filename="two.png"' in body
    assert b"Content-Type: image/jpeg" in body and b"Content-Type: image/png" in body


def test_a_dynamic_handler_gets_its_policies_as_a_json_part():
    script = Script([answer({"events": [], "images": []}, 201)])
    policies = models.Policies(detect_policy=models.DetectPolicy(detect_face=1))
    with sync_client(script, account_id=ACCOUNT) as luna:
        luna.emit_events(HANDLER_ID, JPEG, policies=policies, tags=["a", "b"], source="cam")
    request = script.requests[0]
    assert request.url.path == f"/1/handlers/{HANDLER_ID}/events"
    assert dict(request.url.params) == {"tags": "a,b", "source": "cam"}
    body = request.content
    assert b'name="policies"' in body and b'{"detect_policy": {"detect_face": 1}}' in body


def test_json_bodies_use_the_json_names_and_leave_defaults_to_the_server():
    script = Script([answer({"handler_id": HANDLER_ID, "url": f"/1/handlers/{HANDLER_ID}"}, 201)])
    with sync_client(script, account_id=ACCOUNT) as luna:
        created = luna.create_handler(
            {"detect_policy": {"detect_face": 1}}, description="door", is_dynamic=False
        )
    assert created == responses.HandlerCreated(handler_id=HANDLER_ID, url=f"/1/handlers/{HANDLER_ID}")
    request = script.requests[0]
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "policies": {"detect_policy": {"detect_face": 1}},
        "description": "door",
        "is_dynamic": False,
    }


def test_raw_descriptors_may_be_given_as_bytes():
    script = Script([answer({"matches": [{"reference_id": "reference-0", "matches": [{"candidate_id": "c", "similarity": 0.5}]}]})])
    with sync_client(script, account_id=ACCOUNT) as luna:
        found = luna.match_raw([b"\x01\x02"], [{"id": "c", "type": "sdk_descriptor", "data": "AQI="}])
    sent = json.loads(script.requests[0].content)
    assert sent["references"] == [{"id": "reference-0", "type": "sdk_descriptor", "data": base64.b64encode(b"\x01\x02").decode()}]
    assert found.matches[0].matches[0].similarity == 0.5


def test_an_unknown_query_parameter_is_refused_before_sending():
    script = Script([answer({})])
    with sync_client(script) as luna, pytest.raises(TypeError, match="estimate_everything"):
        luna.detect(JPEG, estimate_everything=1)
    assert script.requests == []


def test_path_parameters_stay_in_their_segment():
    script = Script([httpx.Response(204)])
    with sync_client(script) as luna:
        luna.delete_face("a/b c")
    assert script.requests[0].url.raw_path == b"/1/faces/a%2Fb%20c"


def test_msgpack_is_asked_for_and_decoded_into_the_same_models():
    script = Script([lambda request: answer(DETECTED, 200, request)])
    with sync_client(script, msgpack=True) as luna:
        found = luna.detect(PNG)
    request = script.requests[0]
    assert request.headers["accept"] == "application/msgpack"
    assert request.headers["content-type"] == "image/png"
    assert found.images[0].detections.samples[0].face.detection.score == 0.9


def test_msgpack_binary_and_errors_in_json():
    # A msgpack answer may carry bytes; an error stays JSON and typed.
    script = Script(
        [
            lambda request: answer([{"attribute_id": "a", "url": "/1/attributes/a", "samples": []}], 201, request),
            httpx.Response(400, json={"error_code": 12012, "desc": "Bad", "detail": "page"}),
        ]
    )
    with sync_client(script, msgpack=True, account_id=ACCOUNT) as luna:
        [extracted] = luna.extract(["s1"])
        assert extracted.attribute_id == "a"
        with pytest.raises(luna_client.BadInput) as raised:
            luna.list_handlers(page=0)
    assert raised.value.code == 12012
    assert json.loads(script.requests[0].content) == ["s1"]


def test_files_are_not_asked_for_in_msgpack():
    script = Script([httpx.Response(200, content=JPEG, headers={"Content-Type": "image/jpeg"})])
    with sync_client(script, msgpack=True) as luna:
        assert luna.get_face_sample("s") == JPEG
    # httpx's default Accept, not msgpack: the sample is a JPEG whatever is asked.
    assert script.requests[0].headers["accept"] == "*/*"


def test_decoding_follows_the_content_type_whatever_was_asked():
    packed = msgpack.packb({"handlers_count": 7})
    script = Script([httpx.Response(200, content=packed, headers={"Content-Type": "application/msgpack"})])
    with sync_client(script) as luna:
        assert luna.count_handlers() == 7


def test_credentials():
    script = Script([answer({"handlers_count": 0})])
    with sync_client(script, token="secret-token") as luna:
        luna.count_handlers()
    assert script.requests[-1].headers["authorization"] == "Bearer secret-token"
    with sync_client(script, auth=("me@example.org", "a long password")) as luna:
        luna.count_handlers()
    expected = base64.b64encode(b"me@example.org:a long password").decode()
    assert script.requests[-1].headers["authorization"] == f"Basic {expected}"
    with pytest.raises(ValueError):
        luna_client.LunaClient(token="t", auth=("a", "b"))


def test_an_event_saved_without_waiting_has_its_id_too():
    saved = {"event_id": HANDLER_ID, "url": f"/1/events/{HANDLER_ID}"}
    script = Script([answer(saved, 202)])
    with sync_client(script, account_id=ACCOUNT) as luna:
        assert luna.save_event(HANDLER_ID, {"source": "cam"}, wait_saving=0).event_id == HANDLER_ID
    assert script.requests[0].url.params["wait_saving"] == "0"


def test_validator_and_replace_answer_nothing():
    script = Script([httpx.Response(204)])
    with sync_client(script, account_id=ACCOUNT) as luna:
        assert luna.validate_policies({"detect_policy": {}}) is None
        assert luna.replace_handler(HANDLER_ID, {}, description="x") is None
    assert json.loads(script.requests[0].content) == {"policies": {"detect_policy": {}}}
    assert script.requests[1].method == "PUT"


def test_sniffing():
    assert luna_client.sniff_mimetype(JPEG) == "image/jpeg"
    assert luna_client.sniff_mimetype(PNG) == "image/png"
    assert luna_client.sniff_mimetype(b"BM....") == "image/bmp"
    assert luna_client.sniff_mimetype(b"II*\x00") == "image/tiff"
    assert luna_client.sniff_mimetype(b"P6\n") == "image/x-portable-pixmap"
    assert luna_client.sniff_mimetype(b"GIF89a") is None


async def test_async_client_sends_the_same_requests():
    script = Script([lambda request: answer(DETECTED, 200, request)])
    async with luna_client.AsyncLunaClient(
        "http://luna", account_id=ACCOUNT, msgpack=True, transport=script.async_()
    ) as luna:
        found = await luna.detect(JPEG, multiface_policy=1)
    assert found.images[0].status == 1
    request = script.requests[0]
    assert request.headers["accept"] == "application/msgpack"
    assert request.url.params["multiface_policy"] == "1"
