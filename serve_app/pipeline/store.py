"""The store step: what a request keeps, as LUNA's storage policy says.

Face samples (the warps) for every route that stores them. For handlers, each storage policy
step in LUNA's order, each gated by its filters: face samples, the source image, a temporary
attribute, a face (with avatar and list links), the event, its notification.

Writes that belong together commit together: a face is created with its descriptor and
links in one transaction; sample and source images are written before the rows that name
them, so a failure leaves at worst an orphan file, never a row without its image.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import descriptor_format
from serve_app.errors import SOME_NOT_FOUND, LunaError
from serve_app.http.timing import timed
from serve_app.pipeline.events import EventRecord, FaceRef, Renderer
from serve_app.pipeline.extract import Extracted
from serve_app.pipeline.faces import ImageResult
from serve_app.pipeline.filters import passes
from serve_app.policies import StoragePolicy
from serve_app.storage import samples as sample_store
from serve_app.storage.attributes import AttributeStore
from serve_app.storage.events import EventWriter, NewEvent
from serve_app.storage.lists import FaceStore, ListStore
from serve_app.storage.samples import sample_url
from serve_app.storage.store import Storage
from serve_app.storage.tables import Attribute, Face

IMAGES = "images"


def image_url(image_id: str) -> str:
    """Where a stored source image is served."""
    return f"/1/images/{image_id}"


@timed("storage")
async def store_samples(storage: Storage, account_id: str, results: Sequence[ImageResult]) -> None:
    """Store the warp of every face and body still in play as a sample of ``account_id``."""
    await sample_store.store_samples(
        storage, account_id, [f for r in results for f in r.live_faces]
    )
    await sample_store.store_samples(
        storage, account_id, [b for r in results for b in r.live_bodies], sample_store.BODY
    )


@timed("storage")
async def store_events(
    storage: Storage,
    writer: EventWriter,
    policy: StoragePolicy,
    events: Sequence[EventRecord],
    render: Renderer,
) -> list[str]:
    """Run the storage policy on ``events``; returns the ids of the faces created (the
    matcher must hear of them)."""
    account_id = events[0].meta.account_id if events else ""
    samples = [
        e
        for e in events
        if policy.face_sample_policy.store_sample and _gate(policy.face_sample_policy, e)
    ]
    await sample_store.store_samples(
        storage, account_id, [d.face for e in samples for d in e.detections if d.face]
    )
    body_samples = [
        d.body
        for e in events
        if policy.body_sample_policy.store_sample and _gate(policy.body_sample_policy, e)
        for d in e.detections
        if d.body is not None
    ]
    await sample_store.store_samples(storage, account_id, body_samples, sample_store.BODY)
    if policy.image_origin_policy.store_image:
        await _store_images(
            storage, account_id, [e for e in events if _gate(policy.image_origin_policy, e)]
        )
    if policy.attribute_policy.store_attribute:
        await _store_attributes(
            storage,
            policy,
            # A body without a face has no face attribute to keep.
            [e for e in events if e.has_face and _gate(policy.attribute_policy, e)],
        )
    created = []
    if policy.face_policy.store_face:
        faces = [e for e in events if e.descriptor is not None and _gate(policy.face_policy, e)]
        created = await _store_faces(storage, policy, faces)
    await _store_and_notify(writer, policy, events, render)
    return created


def _gate(step: Any, event: EventRecord) -> bool:
    return passes(step.filters, event)


async def _store_images(storage: Storage, account_id: str, events: Sequence[EventRecord]) -> None:
    """Each source image once, however many of its faces the events hold."""
    images = {id(d.image): d.image for e in events for d in e.detections if d.image.source}
    for image in images.values():
        image_id = str(uuid.uuid4())
        assert image.source is not None
        await storage.blobs.put(IMAGES, account_id, image_id, image.source)
        image.image_origin = image_url(image_id)


async def store_attributes(
    storage: Storage, account_id: str, results: Sequence[Extracted], ttl_s: int
) -> list[Attribute]:
    """Temporary attributes for the results, in one transaction (``/1/extractor``, and the
    attribute storage of handlers and verifiers)."""
    async with storage.database.transaction() as session:
        store = AttributeStore(session, account_id)
        return [
            await store.create(
                descriptor=descriptor_format.raw(r.descriptor.vector) if r.descriptor else None,
                descriptor_version=r.descriptor.version if r.descriptor else None,
                descriptor_score=r.descriptor.score if r.descriptor else None,
                basic_attributes=r.basic_attributes.rounded() if r.basic_attributes else None,
                samples=r.samples,
                ttl_s=ttl_s,
            )
            for r in results
        ]


async def _store_attributes(
    storage: Storage, policy: StoragePolicy, events: Sequence[EventRecord]
) -> None:
    if not events:
        return
    extracted = [Extracted(e.sample_ids, e.descriptor, e.basic_attributes) for e in events]
    account_id = events[0].meta.account_id
    rows = await store_attributes(storage, account_id, extracted, policy.attribute_policy.ttl)
    for event, row in zip(events, rows, strict=True):
        event.attribute_id = row.attribute_id


async def _store_faces(
    storage: Storage, policy: StoragePolicy, events: Sequence[EventRecord]
) -> list[str]:
    """Each event's face with its descriptor, avatar and the lists whose filters it passes,
    all in one transaction."""
    face_policy = policy.face_policy
    created: list[str] = []
    try:
        async with storage.database.transaction() as session:
            for event in events:
                meta, descriptor = event.meta, event.descriptor
                assert descriptor is not None
                samples = event.sample_ids
                with_avatar = face_policy.set_sample_as_avatar and samples
                lists = [
                    link.list_id
                    for link in face_policy.link_to_lists_policy
                    if passes(link.filters, event)
                ]
                row = await add_face(
                    session,
                    meta.account_id,
                    {
                        descriptor.version: (
                            descriptor_format.raw(descriptor.vector),
                            descriptor.score,
                        )
                    },
                    event.basic_attributes.rounded() if event.basic_attributes else None,
                    samples,
                    user_data=meta.user_data,
                    external_id=meta.external_id,
                    avatar=sample_url(samples[0]) if with_avatar else "",
                    event_id=event.event_id if policy.event_policy.store_event else None,
                    lists=lists,
                )
                event.face = FaceRef(
                    face_id=row.face_id,
                    external_id=row.external_id,
                    user_data=row.user_data,
                    avatar=row.avatar,
                    event_id=row.event_id,
                    lists=tuple(dict.fromkeys(lists)),
                    create_time=row.create_time,
                )
                created.append(row.face_id)
    except IntegrityError as exc:  # a list removed between the check and the link
        raise LunaError(SOME_NOT_FOUND, "lists") from exc
    return created


async def _store_and_notify(
    writer: EventWriter, policy: StoragePolicy, events: Sequence[EventRecord], render: Renderer
) -> None:
    event_policy, notification = policy.event_policy, policy.notification_policy
    stored = [e for e in events if event_policy.store_event and _gate(event_policy, e)]
    for event in stored:
        event.stored = True
    notified = {
        e.event_id for e in events if notification.send_notification and _gate(notification, e)
    }
    rows = [_row(e, render(e), e.event_id in notified) for e in stored]
    await writer.save(rows, wait=bool(event_policy.wait_saving))
    # Events not stored are still announced when the notification policy says so.
    for event in events:
        if event.event_id in notified and not event.stored:
            writer.notifier.publish(event.meta.account_id, event.meta.handler_id, render(event))


def _row(event: EventRecord, body: dict[str, Any], notify: bool) -> NewEvent:
    meta, descriptor, attributes = event.meta, event.descriptor, event.basic_attributes
    return NewEvent(
        event_id=event.event_id,
        account_id=meta.account_id,
        body=body,
        create_time=meta.create_time,
        end_time=meta.end_time,
        handler_id=meta.handler_id,
        external_id=meta.external_id,
        user_data=meta.user_data,
        source=meta.source or "",
        track_id=meta.track_id,
        face_id=event.face.face_id if event.face else None,
        gender=round(attributes.gender) if attributes else None,
        age=round(attributes.age) if attributes else None,
        tags=list(event.tags),
        descriptor=descriptor_format.raw(descriptor.vector) if descriptor else None,
        descriptor_version=descriptor.version if descriptor else None,
        notify=notify,
    )


async def add_face(
    session: AsyncSession,
    account_id: str,
    descriptors: dict[int, tuple[bytes, float | None]],
    basic_attributes: dict | None,
    samples: list[str],
    *,
    user_data: str = "",
    external_id: str = "",
    avatar: str = "",
    event_id: str | None = None,
    lists: Sequence[str] = (),
) -> Face:
    """A new face in its lists, within the caller's transaction (``POST /1/faces``, and a
    handler's face storage policy, which stores many faces in one transaction). Every list
    must be the account's; a list removed meanwhile fails the commit with IntegrityError."""
    list_store = ListStore(session, account_id)
    if missing := await list_store.missing(lists):
        raise LunaError(SOME_NOT_FOUND, f"lists ({', '.join(missing)})")
    face = await FaceStore(session, account_id).create(
        descriptors, basic_attributes, samples, user_data, external_id, event_id, avatar
    )
    for list_id in dict.fromkeys(lists):
        await list_store.attach(list_id, [face.face_id])
    return face
