"""Samples and source images in an S3-compatible object store (AWS S3, MinIO, Ceph, ...), so
that every ingress replica reads what any of them stored (docs/shared-state.md).

Objects are keyed ``<prefix><kind>/<account>/<id>``: the account is part of every key, so an
id of one account never names another account's object. The client is aiobotocore (botocore
on asyncio): calls await on the ingress's event loop. Outages (connection refused or reset,
timeouts, the server's 5xx, a missing bucket, refused credentials) become
:class:`BlobStoreUnavailable` after botocore's own retries, so a request answers LUNA's
connection error (code 11, 503) instead of hanging or failing with an unknown error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from serve_app.settings import BlobSettings
from serve_app.storage.blobs import BlobStore, BlobStoreUnavailable, check_parts

log = logging.getLogger(__name__)

# What S3 servers answer for a key or bucket that does not exist.
_NO_KEY = {"NoSuchKey", "404", "NotFound"}
_NO_BUCKET = {"NoSuchBucket"}


class S3BlobStore(BlobStore):
    """A bucket of an S3-compatible store. The client is made on first use, in the running
    event loop, and kept: its connection pool serves every later call."""

    def __init__(self, settings: BlobSettings) -> None:
        if not settings.bucket:
            raise ValueError("the s3 blob store needs a bucket")
        self.settings = settings
        self.bucket = settings.bucket
        self._client: Any = None
        self._stack = contextlib.AsyncExitStack()
        self._lock = asyncio.Lock()

    def key(self, kind: str, account_id: str, blob_id: str) -> str:
        """The object key of a blob."""
        check_parts(kind, account_id, blob_id)
        return f"{self.settings.prefix}{kind}/{account_id}/{blob_id}"

    async def put(self, kind: str, account_id: str, blob_id: str, data: bytes) -> None:
        # An S3 PUT is atomic: readers see the old object or the new one, never a part.
        key = self.key(kind, account_id, blob_id)
        client = await self._ready()
        await self._call("storing", client.put_object, Bucket=self.bucket, Key=key, Body=data)

    async def get(self, kind: str, account_id: str, blob_id: str) -> bytes | None:
        key = self.key(kind, account_id, blob_id)
        client = await self._ready()
        try:
            response = await client.get_object(Bucket=self.bucket, Key=key)
            async with response["Body"] as stream:
                return await stream.read()
        except ClientError as error:
            if _code(error) in _NO_KEY:
                return None
            raise self._unavailable("reading", error) from error
        except (BotoCoreError, OSError, asyncio.TimeoutError) as error:
            raise self._unavailable("reading", error) from error

    async def delete(self, kind: str, account_id: str, blob_id: str) -> None:
        # S3 answers a DELETE of a missing key with success: nothing to tell apart.
        key = self.key(kind, account_id, blob_id)
        client = await self._ready()
        await self._call("removing", client.delete_object, Bucket=self.bucket, Key=key)

    async def close(self) -> None:
        """Close the client's connections."""
        async with self._lock:
            self._client = None
            await self._stack.aclose()

    async def _ready(self) -> Any:
        """The client, made on first use; the bucket checked (or created, when the settings
        say so) before the first call, and again after a failed check."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                client = await self._stack.enter_async_context(self._make_client())
                try:
                    await self._check_bucket(client)
                except BaseException:
                    await self._stack.aclose()
                    raise
                self._client = client
        return self._client

    def _make_client(self) -> Any:
        settings = self.settings
        config = AioConfig(
            connect_timeout=settings.connect_timeout_s,
            read_timeout=settings.read_timeout_s,
            # "standard" retries connection errors, throttling and 5xx with backoff.
            retries={"max_attempts": settings.max_attempts, "mode": "standard"},
            s3={"addressing_style": settings.addressing_style},
        )
        return get_session().create_client(
            "s3",
            endpoint_url=settings.endpoint_url,
            region_name=settings.region,
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
            config=config,
        )

    async def _check_bucket(self, client: Any) -> None:
        try:
            await client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as error:
            if _code(error) not in _NO_KEY | _NO_BUCKET:
                raise self._unavailable("opening the bucket", error) from error
            if not self.settings.create_bucket:
                raise self._unavailable("opening the bucket", _no_bucket(error)) from error
        except (BotoCoreError, OSError, asyncio.TimeoutError) as error:
            raise self._unavailable("opening the bucket", error) from error
        log.info("creating bucket %s (blobs.create_bucket is on)", self.bucket)
        options: dict[str, Any] = {}
        if self.settings.region != "us-east-1":  # S3 refuses us-east-1 as a constraint
            options["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
        try:
            await client.create_bucket(Bucket=self.bucket, **options)
        except ClientError as error:
            if _code(error) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise self._unavailable("creating the bucket", error) from error

    async def _call(self, doing: str, method: Any, **params: Any) -> Any:
        try:
            return await method(**params)
        except (ClientError, BotoCoreError, OSError, asyncio.TimeoutError) as error:
            raise self._unavailable(doing, error) from error

    def _unavailable(self, doing: str, error: BaseException) -> BlobStoreUnavailable:
        if isinstance(error, ClientError) and _code(error) in _NO_BUCKET:
            reason = f"{doing}: bucket '{self.bucket}' does not exist"
        elif isinstance(error, ClientError):
            reason = f"{doing}: the store answered {_code(error)}"
        else:
            # The exception's class says what happened (EndpointConnectionError,
            # ReadTimeoutError, ...) without the endpoint's address or any credential.
            reason = f"{doing}: {type(error).__name__}"
        log.warning("blob store %s failed: %r", doing, error)
        return BlobStoreUnavailable(reason)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _no_bucket(error: ClientError) -> ClientError:
    # HEAD answers a bare 404 for a missing bucket: name it as the other calls do.
    return ClientError({"Error": {"Code": "NoSuchBucket"}}, error.operation_name)
