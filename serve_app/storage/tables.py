"""Database tables (SQLAlchemy 2 declarative). Migrations in ``migrations/`` create them.

Every object row carries the ``account_id`` that created it; queries always filter on it.
Timestamps are timezone-aware UTC on every backend (:class:`UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = String(36)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes everywhere: SQLite hands back naive ones, PostgreSQL aware ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC-aware ones")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of all tables."""


class Handler(Base):
    """A handler: policies for processing images into events."""

    __tablename__ = "handlers"
    handler_id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, index=True)
    description: Mapped[str] = mapped_column(String(128), default="")
    policies: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    is_dynamic: Mapped[bool] = mapped_column(Boolean, default=False)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime)
    last_update_time: Mapped[datetime] = mapped_column(UTCDateTime)


class Verifier(Base):
    """A verifier: policies for processing images and verifying them against references."""

    __tablename__ = "verifiers"
    verifier_id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, index=True)
    description: Mapped[str] = mapped_column(String(128), default="")
    policies: Mapped[dict] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime)
    last_update_time: Mapped[datetime] = mapped_column(UTCDateTime)


class Sample(Base):
    """A face sample: the 250x250 warp (stored in the blob store) and where it came from."""

    __tablename__ = "samples"
    sample_id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, index=True)
    kind: Mapped[str] = mapped_column(String(16), default="face")
    create_time: Mapped[datetime] = mapped_column(UTCDateTime)


class Attribute(Base):
    """Temporary face attributes (descriptor, age, gender) extracted from samples."""

    __tablename__ = "attributes"
    attribute_id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, index=True)
    descriptor: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    descriptor_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    descriptor_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    basic_attributes: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    samples: Mapped[list] = mapped_column(JSON, default=list)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime)
    expire_time: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Face(Base):
    """A face: a person's record to match against, with descriptors and attributes."""

    __tablename__ = "faces"
    face_id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, index=True)
    user_data: Mapped[str] = mapped_column(String(128), default="")
    external_id: Mapped[str] = mapped_column(String(36), default="", index=True)
    event_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    avatar: Mapped[str] = mapped_column(String(256), default="")
    basic_attributes: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    samples: Mapped[list] = mapped_column(JSON, default=list)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime)
    last_update_time: Mapped[datetime] = mapped_column(UTCDateTime)


class FaceDescriptor(Base):
    """A descriptor of a face; one per descriptor version (attribute upgrade adds versions)."""

    __tablename__ = "face_descriptors"
    face_id: Mapped[str] = mapped_column(
        ID, ForeignKey("faces.face_id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    descriptor: Mapped[bytes] = mapped_column(LargeBinary)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)


class FaceList(Base):
    """A list of faces, the unit of matching."""

    __tablename__ = "lists"
    list_id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, index=True)
    user_data: Mapped[str] = mapped_column(String(128), default="")
    create_time: Mapped[datetime] = mapped_column(UTCDateTime)
    last_update_time: Mapped[datetime] = mapped_column(UTCDateTime)


class ListFace(Base):
    """A face in a list."""

    __tablename__ = "list_faces"
    list_id: Mapped[str] = mapped_column(
        ID, ForeignKey("lists.list_id", ondelete="CASCADE"), primary_key=True
    )
    face_id: Mapped[str] = mapped_column(
        ID, ForeignKey("faces.face_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    link_time: Mapped[datetime] = mapped_column(UTCDateTime)


class Event(Base):
    """A stored event: the full event JSON (``body``), with a column for each read filter.

    The columns copy values from the body when the event is written, so that filters use
    indexes instead of reading JSON; the body stays what clients get back.
    """

    __tablename__ = "events"
    event_id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID)
    handler_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    face_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    external_id: Mapped[str] = mapped_column(String(36), default="")
    user_data: Mapped[str] = mapped_column(String(128), default="")
    source: Mapped[str] = mapped_column(String(128), default="")
    track_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    gender: Mapped[int | None] = mapped_column(Integer, nullable=True)
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime)
    descriptor: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    descriptor_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    body: Mapped[dict] = mapped_column(JSON)


class EventTag(Base):
    """A tag of an event: a row per tag, so that a tag filter is an index lookup."""

    __tablename__ = "event_tags"
    event_id: Mapped[str] = mapped_column(
        ID, ForeignKey("events.event_id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(128), primary_key=True)


# Every event query is scoped to one account and ordered newest first: each filter gets an
# index led by the account, so a page is found without scanning other accounts' events.
Index("ix_events_account_create", Event.account_id, Event.create_time)
Index("ix_events_account_handler_create", Event.account_id, Event.handler_id, Event.create_time)
Index("ix_events_account_external", Event.account_id, Event.external_id)
Index("ix_events_account_face", Event.account_id, Event.face_id)
Index("ix_events_account_track", Event.account_id, Event.track_id)
Index("ix_events_account_source", Event.account_id, Event.source)
Index("ix_events_account_gender", Event.account_id, Event.gender)
Index("ix_events_account_age", Event.account_id, Event.age)
# (tag, event_id): a tag filter reads the event ids from the index alone.
Index("ix_event_tags_tag", EventTag.tag, EventTag.event_id)
Index("ix_faces_account_create", Face.account_id, Face.create_time)
Index("ix_handlers_account_create", Handler.account_id, Handler.create_time)
Index("ix_verifiers_account_create", Verifier.account_id, Verifier.create_time)


class Account(Base):
    """A login that requests can authenticate as (serve_app.http.auth). ``account_id`` is the
    account its objects belong to, as with ``Luna-Account-Id``; the password is kept only
    as a salted scrypt hash."""

    __tablename__ = "accounts"
    account_id: Mapped[str] = mapped_column(ID, primary_key=True)
    login: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    account_type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(128), default="")
    create_time: Mapped[datetime] = mapped_column(UTCDateTime)
    last_update_time: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountToken(Base):
    """A bearer token of an account: only the SHA-256 of the token is kept (the token is 256
    random bits, so a fast hash cannot be reversed), looked up by that hash."""

    __tablename__ = "account_tokens"
    token_id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ID, ForeignKey("accounts.account_id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(128), default="")
    create_time: Mapped[datetime] = mapped_column(UTCDateTime)
    expiration_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FaceChange(Base):
    """The change feed of faces for matcher shard replicas: a row per face created, changed,
    linked, unlinked or removed, in the order written (``seq``). Each replica of a shard
    follows it from the sequence number its load started at (docs/matching.md); old rows
    are trimmed."""

    __tablename__ = "face_changes"
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                     primary_key=True, autoincrement=True)  # fmt: skip
    account_id: Mapped[str] = mapped_column(ID)
    face_id: Mapped[str] = mapped_column(ID)
    create_time: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
