"""luna-client against the real Ray Serve deployment of serve_config.yaml: detect, a handler
that stores faces and events, identification through the matcher, a verifier, typed errors,
msgpack, the async client, and the client's snapshot against the served document.

Every answer is parsed into the client's models, so a field the service writes differently
from what the client declares fails here.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import luna_client
import pytest
import yaml
from luna_client import AsyncLunaClient, ImageFile, LunaClient, models, responses
from pydantic import BaseModel

from tests.client.contract import load_generator
from tests.conftest import new_account

pytestmark = pytest.mark.e2e


@pytest.fixture
def account() -> str:
    return new_account()


@pytest.fixture
def luna(service_url, account):
    with LunaClient(service_url, account_id=account, timeout=120) as client:
        yield client


def undeclared(value: Any, where: str = "") -> list[str]:
    """Fields the service wrote that the client's model of the answer does not declare (kept
    as extras): each is a place where the client and the service disagree."""
    found: list[str] = []
    if isinstance(value, BaseModel):
        found += [f"{where}.{name}" for name in (value.model_extra or {})]
        for name in type(value).model_fields:
            found += undeclared(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found += undeclared(item, f"{where}[{i}]")
    return found


def _one_face(found: models.DetectorResponse) -> models.Sample:
    [image] = found.images
    assert image.status == 1, image.error
    [sample] = image.detections.samples
    return sample


def test_detect(luna, photo_bytes, photos):
    found = luna.detect(photo_bytes("obama.jpg"), estimate_head_pose=1)
    assert not undeclared(found)
    sample = _one_face(found)
    assert sample.face.detection.rect.width > 50
    assert sample.face.detection.attributes.head_pose is not None
    assert luna.get_face_sample(sample.face.sample_id).startswith(b"\xff\xd8")

    group = luna.detect(photo_bytes("group_six.jpg"), multiface_policy=1)
    assert len(group.images[0].detections.samples) == photos["group_six.jpg"]["faces"]

    several = luna.detect([photo_bytes("obama.jpg"), ImageFile(photo_bytes("biden.jpg"), filename="b.jpg")])
    assert [image.filename for image in several.images] == ["image-0", "b.jpg"]


def test_handler_events_matcher_and_verifier(luna, photo_bytes):
    staff = luna.create_list(user_data="client e2e").list_id
    handler = luna.create_handler(
        {
            "extract_policy": {"extract_face_descriptor": 1, "extract_basic_attributes": 1},
            "storage_policy": {
                "face_policy": {"store_face": 1, "link_to_lists_policy": [{"list_id": staff}]},
                "event_policy": {"store_event": 1},
            },
        },
        description="client e2e",
    )
    assert luna.handler_exists(handler.handler_id)
    stored = luna.get_handler(handler.handler_id)
    assert not undeclared(stored) and not undeclared(handler)
    assert stored.description == "client e2e" and stored.is_dynamic is False
    assert luna.count_handlers() == 1
    assert [h.handler_id for h in luna.list_handlers()] == [handler.handler_id]

    faces = {}
    for name in ("obama.jpg", "biden.jpg"):
        generated = luna.emit_events(handler.handler_id, photo_bytes(name), source="client-e2e")
        assert not undeclared(generated)
        [event] = generated.events
        assert event.face is not None and event.face.lists == [staff]
        assert event.face_attributes["basic_attributes"]["age"] > 0
        faces[name] = event.face.face_id
    obama, biden = faces["obama.jpg"], faces["biden.jpg"]

    events = luna.list_events(handler_id=handler.handler_id)
    assert not undeclared(events)
    assert not undeclared(luna.list_faces(list_id=staff)) and not undeclared(luna.list_lists())
    assert events.count == 2 and {e.source for e in events.events} == {"client-e2e"}
    assert luna.get_event(events.events[0].event_id).handler_id == handler.handler_id
    assert {f.face_id for f in luna.list_faces(list_id=staff)} == {obama, biden}
    assert luna.get_list(staff).faces_count == 2
    assert luna.get_face(obama).lists == [staff]

    # Identify another photo of the same person among the list.
    selfie = _one_face(luna.detect(photo_bytes("obama2.jpg")))
    [attribute] = luna.extract([selfie.face.sample_id])
    assert not undeclared(attribute) and not undeclared(luna.get_attribute(attribute.attribute_id))
    assert luna.get_attribute(attribute.attribute_id).samples == [selfie.face.sample_id]
    [by_selfie] = luna.match_faces(
        [{"type": "attribute_id", "id": attribute.attribute_id}],
        [{"filters": {"list_id": staff}, "limit": 2}],
    )
    assert not undeclared(by_selfie)
    best, other = by_selfie.matches[0].result
    assert best.face.face_id == obama and best.similarity > 0.9 > 0.5 > other.similarity

    # A verifier: the same person passes, another does not, in the order asked.
    verifier = luna.create_verifier({"verification_threshold": 0.5}, description="client e2e")
    assert not undeclared(luna.get_verifier(verifier.verifier_id))
    assert not undeclared(luna.list_verifiers())
    answer = luna.verify(verifier.verifier_id, photo_bytes("obama3.jpg"), face_ids=[obama, biden])
    assert not undeclared(answer)
    [face] = answer.images[0].detections.face_detections
    assert [v.face["face_id"] for v in face.verifications] == [obama, biden]
    assert [v.status for v in face.verifications] == [True, False]
    assert luna.count_verifiers() == 1

    luna.delete_verifier(verifier.verifier_id)
    assert not luna.verifier_exists(verifier.verifier_id)
    luna.delete_handler(handler.handler_id)
    assert not luna.handler_exists(handler.handler_id)


def test_raw_descriptors(luna, photo_bytes):
    sdk = luna.sdk(photo_bytes("obama.jpg"), detect_face=1, estimate_face_descriptor=1)
    [estimation] = sdk.images_estimations[0].estimations
    descriptor = estimation.face.attributes.descriptor
    data = base64.b64decode(descriptor.sdk_descriptor)
    found = luna.match_raw([data], [data, {"id": "same", "type": "sdk_descriptor", "data": descriptor.sdk_descriptor}])
    assert not undeclared(found) and not undeclared(sdk)
    [reference] = found.matches
    assert [m.candidate_id for m in reference.matches] == ["candidate-0", "same"]
    assert all(m.similarity > 0.99 for m in reference.matches)


def test_errors_are_typed(luna, service_url, photo_bytes):
    missing = str(uuid.uuid4())
    with pytest.raises(luna_client.NotFound) as raised:
        luna.get_handler(missing)
    assert raised.value.code == 11033 and missing in raised.value.detail
    assert raised.value.status == 404 and raised.value.request_id

    with pytest.raises(luna_client.NotFound) as raised:
        luna.get_verifier(missing)
    assert raised.value.code == 34004

    with pytest.raises(luna_client.BadInput) as raised:
        luna.list_handlers(page=0)
    assert raised.value.code == 12012

    with LunaClient(service_url) as anonymous, pytest.raises(luna_client.Forbidden) as raised:
        anonymous.create_handler({})
    assert raised.value.code == 11036

    with pytest.raises(luna_client.EstimatorUnavailable) as raised:
        luna.sdk(photo_bytes("obama.jpg"), estimate_liveness=1)
    assert raised.value.code == 11055


def test_msgpack(service_url, account, photo_bytes):
    with LunaClient(service_url, account_id=account, timeout=120) as plain:
        as_json = _one_face(plain.detect(photo_bytes("obama.jpg")))
        created = plain.create_handler({"extract_policy": {"extract_face_descriptor": 1}})
    with LunaClient(service_url, account_id=account, msgpack=True, timeout=120) as packed:
        as_msgpack = _one_face(packed.detect(photo_bytes("obama.jpg")))
        assert as_msgpack.face.detection.rect == as_json.face.detection.rect
        assert packed.get_handler(created.handler_id).handler_id == created.handler_id
        assert packed.version().Version.api >= 1

    # The service really answers msgpack.
    response = httpx.get(
        f"{service_url}/1/handlers/count",
        headers={"Luna-Account-Id": account, "Accept": "application/msgpack"},
    )
    assert response.headers["content-type"] == "application/msgpack"


def test_accounts_and_tokens(service_url):
    login, password = f"client-{uuid.uuid4().hex[:8]}@example.org", "a client e2e password"
    with LunaClient(service_url) as luna:
        account = luna.create_account(login, password, description="client e2e")
    with LunaClient(service_url, auth=(login, password)) as basic:
        assert basic.get_account(account.account_id).login == login
        token = basic.create_token(description="client e2e")
        tokens = basic.list_tokens()
        assert [t.token_id for t in tokens.tokens] == [token.token_id]
        assert not undeclared([account, basic.get_account(account.account_id), token, tokens])
    with LunaClient(service_url, token=token.token) as bearer:
        assert bearer.count_handlers() == 0
        assert bearer.get_token(token.token_id).description == "client e2e"
        bearer.delete_token(token.token_id)
        with pytest.raises(luna_client.Unauthorized):
            bearer.count_handlers()


def test_service_routes(luna):
    assert isinstance(luna.version(), models.VersionResponse)
    assert luna.healthcheck().execution_time >= 0
    assert luna.healthcheck(root=True).execution_time >= 0
    assert isinstance(luna.config(), dict)
    assert "<html" in luna.docs_dev().lower()


def test_snapshot_is_what_the_service_serves(luna):
    generate = load_generator()
    served = generate.normalize(yaml.safe_load(luna.docs_spec()))
    snapshot = json.loads(generate.SNAPSHOT.read_text())
    drift = generate.describe_drift(snapshot, served)
    assert not drift, "\n".join(drift)


async def test_async_client(service_url, account, photo_bytes):
    async with AsyncLunaClient(service_url, account_id=account, msgpack=True, timeout=120) as luna:
        found = await luna.detect(photo_bytes("obama.jpg"))
        assert found.images[0].detections.samples
        handler = await luna.create_handler({})
        assert isinstance(handler, responses.HandlerCreated)
        assert await luna.count_handlers() == 1
        with pytest.raises(luna_client.NotFound):
            await luna.get_event(str(uuid.uuid4()))


def test_faces_lists_images_and_raw_events(luna, photo_bytes):
    photo = photo_bytes("obama.jpg")
    # A dynamic handler: policies with each request, here storing the source image.
    handler = luna.create_handler(is_dynamic=True)
    policies = {
        "extract_policy": {"extract_face_descriptor": 1},
        "storage_policy": {
            "image_origin_policy": {"store_image": 1},
            "attribute_policy": {"store_attribute": 1},
        },
    }
    generated = luna.emit_events(handler.handler_id, photo, policies=policies)
    assert not undeclared(generated)
    [event] = generated.events
    [detection] = event.detections
    image_id = detection["image_origin"].rsplit("/", 1)[-1]
    assert luna.get_image(image_id) == photo
    attribute_id = event.face_attributes["attribute_id"]

    # A face from the stored attribute, in a list, changed, detached, upgraded.
    staff = luna.create_list(user_data="raw").list_id
    face = luna.create_face(attribute_id=attribute_id, external_id="emp-1", lists=[staff])
    luna.update_face(face.face_id, user_data="renamed")
    stored = luna.get_face(face.face_id)
    assert not undeclared(stored)
    assert (stored.user_data, stored.external_id, stored.lists) == ("renamed", "emp-1", [staff])
    luna.link_faces(staff, [face.face_id], action="detach")
    assert luna.get_list(staff).faces_count == 0
    upgraded = luna.upgrade({"face_id": face.face_id})
    assert upgraded.face_id == face.face_id and not undeclared(upgraded)

    # A client-built event of the dynamic handler, stored, then queued.
    saved = luna.save_event(handler.handler_id, {"source": "raw-client", "tags": ["raw"]})
    assert luna.get_event(saved.event_id).source == "raw-client"
    queued = luna.save_event(handler.handler_id, {"source": "queued"}, wait_saving=0)
    assert queued.url == f"/1/events/{queued.event_id}"

    # ISO checks and a verifier on descriptors.
    iso = luna.iso(photo)
    assert iso.images[0].status == 1 and not undeclared(iso)
    verifier = luna.create_verifier({"verification_threshold": 0.9}).verifier_id
    assert luna.replace_verifier(verifier, {"verification_threshold": 0.5}) >= 1
    descriptor = luna.get_attribute(attribute_id).descriptor
    raw = luna.verify_raw(verifier, [base64.b64decode(descriptor.sdk_descriptor)], [{"id": "x", "data": descriptor.sdk_descriptor}])
    assert raw.matches[0].matches[0].status is True

    # Removal.
    sample_id = luna.detect(photo).images[0].detections.samples[0].face.sample_id
    luna.delete_face_sample(sample_id)
    with pytest.raises(luna_client.NotFound):
        luna.get_face_sample(sample_id)
    luna.delete_face(face.face_id)
    luna.delete_list(staff)
    luna.delete_attribute(attribute_id)
    with pytest.raises(luna_client.NotFound):
        luna.get_attribute(attribute_id)
