"""JSON of stored objects (handlers, verifiers, samples, attributes, faces, lists)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from models import descriptor_format
from serve_app.storage.tables import Attribute, Face, FaceDescriptor, FaceList, Handler, Verifier


def timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with microseconds, e.g. ``2019-08-24T14:15:22.123456Z``."""
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


def handler(row: Handler) -> dict[str, Any]:
    """A handler as ``GET /1/handlers/{id}`` returns it."""
    return {
        "handler_id": row.handler_id,
        "account_id": row.account_id,
        "description": row.description,
        "policies": row.policies,
        "create_time": timestamp(row.create_time),
        "last_update_time": timestamp(row.last_update_time),
        "is_dynamic": row.is_dynamic,
    }


def verifier(row: Verifier) -> dict[str, Any]:
    """A verifier as ``GET /1/verifiers/{id}`` returns it."""
    return {
        "verifier_id": row.verifier_id,
        "account_id": row.account_id,
        "description": row.description,
        "policies": row.policies,
        "create_time": timestamp(row.create_time),
        "last_update_time": timestamp(row.last_update_time),
        "version": row.version,
    }


def sdk_descriptor_b64(data: bytes, version: int) -> str:
    """A stored raw descriptor as a base64 SDK descriptor container."""
    vector = descriptor_format.from_raw(data, len(data) // 4)
    return base64.b64encode(descriptor_format.pack(vector, version)).decode("ascii")


def attribute(row: Attribute) -> dict[str, Any]:
    """A temporary attribute."""
    out: dict[str, Any] = {
        "attribute_id": row.attribute_id,
        "account_id": row.account_id,
        "create_time": timestamp(row.create_time),
        "expire_time": timestamp(row.expire_time),
        "samples": list(row.samples),
    }
    if row.basic_attributes is not None:
        out["basic_attributes"] = row.basic_attributes
    if row.descriptor is not None and row.descriptor_version is not None:
        out["descriptor"] = {
            "sdk_descriptor": sdk_descriptor_b64(row.descriptor, row.descriptor_version),
            "score": row.descriptor_score,
            "version": row.descriptor_version,
        }
    return out


def extracted(row: Attribute) -> dict[str, Any]:
    """One entry of /1/extractor's answer (LUNA's face attributes of an event)."""
    out: dict[str, Any] = {
        "attribute_id": row.attribute_id,
        "url": f"/1/attributes/{row.attribute_id}",
        "samples": list(row.samples),
    }
    if row.descriptor_score is not None:
        out["score"] = round(row.descriptor_score, 6)
    if row.basic_attributes is not None:
        out["basic_attributes"] = row.basic_attributes
    return out


def face(row: Face, lists: list[str], descriptors: dict[int, FaceDescriptor]) -> dict[str, Any]:
    """A face with its lists and what it holds."""
    attributes: dict[str, Any] = {
        "samples": list(row.samples),
        "descriptors": [
            {"version": version, "score": descriptors[version].score}
            for version in sorted(descriptors)
        ],
    }
    if row.basic_attributes is not None:
        attributes["basic_attributes"] = row.basic_attributes
    return {
        "face_id": row.face_id,
        "account_id": row.account_id,
        "user_data": row.user_data,
        "external_id": row.external_id,
        "event_id": row.event_id,
        "avatar": row.avatar,
        "create_time": timestamp(row.create_time),
        "last_update_time": timestamp(row.last_update_time),
        "lists": lists,
        "attributes": attributes,
    }


def face_list(row: FaceList, faces_count: int) -> dict[str, Any]:
    """A list and how many faces it holds."""
    return {
        "list_id": row.list_id,
        "account_id": row.account_id,
        "user_data": row.user_data,
        "create_time": timestamp(row.create_time),
        "last_update_time": timestamp(row.last_update_time),
        "faces_count": faces_count,
    }
