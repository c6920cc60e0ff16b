# Generated from the served OpenAPI document by client/scripts/generate.py.
"""The async operations of the LUNA Handlers API, one method per route of the served document.

Written once, for the sync client; ``client/scripts/generate.py`` rewrites this file into
``_async_api.py`` (every method ``async``, every send awaited). Each method names its route by
``"<METHOD> <path>"`` in the generated route table, which says what the route takes.

Query parameters are keyword arguments with the document's names (``multiface_policy=1``);
flags may be given as bools, lists as sequences. A name the route does not take raises
TypeError before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from luna_client import models, responses
from luna_client._core import Call, Images, QueryValue, b64, call, image_call

Body = Mapping[str, Any] | models.LunaModel
Policies = Mapping[str, Any] | models.Policies
VerifierPolicies = Mapping[str, Any] | models.VerifierPolicies


def _descriptor_entity(entity: Any, index: int, kind: str) -> Any:
    # Raw bytes are an SDK descriptor, as the matcher's samples send them.
    if isinstance(entity, (bytes, bytearray)):
        return {"id": f"{kind}-{index}", "type": "sdk_descriptor", "data": b64(bytes(entity))}
    return entity


class AsyncOperations:
    """Every route of the service as a method; the client supplies :meth:`_send`."""

    async def _send(self, c: Call) -> Any:
        raise NotImplementedError

    # Service ---------------------------------------------------------------------------

    async def version(self) -> models.VersionResponse:
        """``GET /version``: the service's and the API's versions."""
        return await self._send(call("GET /version"))

    async def healthcheck(
        self, *, root: bool = False, **query: QueryValue
    ) -> models.HealthResponse:
        """``GET /1/healthcheck`` (``GET /healthcheck`` with ``root=True``): the service is
        up and its database answers; raises :class:`~luna_client.errors.ServerError` if not."""
        key = "GET /healthcheck" if root else "GET /1/healthcheck"
        return await self._send(call(key, query=query))

    async def config(self) -> dict[str, Any]:
        """``GET /1/config``: the running settings, secrets hidden."""
        return await self._send(call("GET /1/config"))

    async def docs_spec(self) -> str:
        """``GET /1/docs/spec``: the OpenAPI document, as YAML text."""
        return await self._send(call("GET /1/docs/spec", expect="text"))

    async def docs_dev(self) -> str:
        """``GET /1/docs/dev``: the developer manual, as an HTML page."""
        return await self._send(call("GET /1/docs/dev", expect="text", follow_redirects=True))

    # Estimations -----------------------------------------------------------------------

    async def detect(self, images: Images, **query: QueryValue) -> models.DetectorResponse:
        """``POST /1/detector``: the faces of one image (bytes or
        :class:`~luna_client.ImageFile`) or of several, with the estimations the query asks
        for (``estimate_head_pose=1``, ``multiface_policy=1``, ...)."""
        return await self._send(image_call("POST /1/detector", images, query=query))

    async def sdk(self, images: Images, **query: QueryValue) -> models.SdkResponse:
        """``POST /1/sdk``: faces and bodies with descriptors, attributes and warps."""
        return await self._send(image_call("POST /1/sdk", images, query=query))

    async def iso(self, images: Images, **query: QueryValue) -> models.IsoResponse:
        """``POST /1/iso``: the ISO/IEC 19794-5 checks of every face."""
        return await self._send(image_call("POST /1/iso", images, query=query))

    async def extract(
        self, sample_ids: Sequence[str], **query: QueryValue
    ) -> list[responses.ExtractedAttribute]:
        """``POST /1/extractor``: temporary attributes (descriptor, basic attributes) from
        stored face samples."""
        return await self._send(
            call(
                "POST /1/extractor",
                query=query,
                json=list(sample_ids),
                model=list[responses.ExtractedAttribute],
            )
        )

    async def upgrade(self, body: Body) -> responses.Upgraded:
        """``POST /1/extractor/upgrade``: recompute a face's (``{"face_id"}``) or a stored
        event's (``{"event_id"}``) attributes from its samples."""
        return await self._send(
            call("POST /1/extractor/upgrade", json=body, model=responses.Upgraded)
        )

    # Handlers --------------------------------------------------------------------------

    async def create_handler(
        self,
        policies: Policies | None = None,
        *,
        description: str | None = None,
        is_dynamic: bool | None = None,
    ) -> responses.HandlerCreated:
        """``POST /1/handlers``: a handler with these policies (a dynamic one takes its
        policies with each request)."""
        body = _fields(policies=policies, description=description, is_dynamic=is_dynamic)
        return await self._send(
            call("POST /1/handlers", json=body, model=responses.HandlerCreated)
        )

    async def list_handlers(self, **query: QueryValue) -> list[responses.Handler]:
        """``GET /1/handlers``: the account's handlers (``page``, ``page_size``, filters)."""
        return await self._send(
            call("GET /1/handlers", query=query, model=list[responses.Handler])
        )

    async def count_handlers(self, **query: QueryValue) -> int:
        """``GET /1/handlers/count``."""
        found = await self._send(call("GET /1/handlers/count", query=query))
        return found["handlers_count"]

    async def validate_policies(self, policies: Policies) -> None:
        """``POST /1/handlers/validator``: raises
        :class:`~luna_client.errors.BadInput` (or ``EstimatorUnavailable``) when the
        policies would be refused by ``create_handler``."""
        return await self._send(
            call("POST /1/handlers/validator", json={"policies": policies}, expect="none")
        )

    async def get_handler(self, handler_id: str, **query: QueryValue) -> responses.Handler:
        """``GET /1/handlers/{handler_id}``."""
        return await self._send(
            call(
                "GET /1/handlers/{handler_id}",
                path={"handler_id": handler_id},
                query=query,
                model=responses.Handler,
            )
        )

    async def replace_handler(
        self,
        handler_id: str,
        policies: Policies | None = None,
        *,
        description: str | None = None,
        is_dynamic: bool | None = None,
    ) -> None:
        """``PUT /1/handlers/{handler_id}``: new policies and description."""
        body = _fields(policies=policies, description=description, is_dynamic=is_dynamic)
        return await self._send(
            call(
                "PUT /1/handlers/{handler_id}",
                path={"handler_id": handler_id},
                json=body,
                expect="none",
            )
        )

    async def handler_exists(self, handler_id: str, **query: QueryValue) -> bool:
        """``HEAD /1/handlers/{handler_id}``: whether the handler exists."""
        return await self._send(
            call(
                "HEAD /1/handlers/{handler_id}",
                path={"handler_id": handler_id},
                query=query,
                expect="exists",
            )
        )

    async def delete_handler(self, handler_id: str, **query: QueryValue) -> None:
        """``DELETE /1/handlers/{handler_id}``."""
        return await self._send(
            call(
                "DELETE /1/handlers/{handler_id}",
                path={"handler_id": handler_id},
                query=query,
                expect="none",
            )
        )

    async def emit_events(
        self,
        handler_id: str,
        images: Images,
        *,
        policies: Policies | None = None,
        **query: QueryValue,
    ) -> responses.GeneratedEvents:
        """``POST /1/handlers/{handler_id}/events``: run the handler on the images (a dynamic
        handler takes its ``policies`` here; they go as a multipart part)."""
        parts = {"policies": policies} if policies is not None else None
        return await self._send(
            image_call(
                "POST /1/handlers/{handler_id}/events",
                images,
                path={"handler_id": handler_id},
                query=query,
                parts=parts,
                model=responses.GeneratedEvents,
            )
        )

    async def emit_events_json(
        self, handler_id: str, body: Body, **query: QueryValue
    ) -> responses.GeneratedEvents:
        """``POST /1/handlers/{handler_id}/events`` with a JSON body: base64 images, image
        URLs, SDK descriptors or sample ids, and a dynamic handler's ``policies``."""
        return await self._send(
            call(
                "POST /1/handlers/{handler_id}/events",
                path={"handler_id": handler_id},
                query=query,
                json=body,
                model=responses.GeneratedEvents,
            )
        )

    async def save_event(
        self, handler_id: str, event: Body, **query: QueryValue
    ) -> responses.EventSaved:
        """``POST /1/handlers/{handler_id}/events/raw``: store a client-built event of a
        dynamic handler; with ``wait_saving=0`` the service answers once it is queued (202),
        with the same id."""
        return await self._send(
            call(
                "POST /1/handlers/{handler_id}/events/raw",
                path={"handler_id": handler_id},
                query=query,
                json=event,
                model=responses.EventSaved,
            )
        )

    # Verifiers -------------------------------------------------------------------------

    async def create_verifier(
        self, policies: VerifierPolicies | None = None, *, description: str | None = None
    ) -> responses.VerifierCreated:
        """``POST /1/verifiers``: a verifier (detect, extract and
        ``verification_threshold`` policies)."""
        body = _fields(policies=policies, description=description)
        return await self._send(
            call("POST /1/verifiers", json=body, model=responses.VerifierCreated)
        )

    async def list_verifiers(self, **query: QueryValue) -> list[responses.Verifier]:
        """``GET /1/verifiers``."""
        return await self._send(
            call("GET /1/verifiers", query=query, model=list[responses.Verifier])
        )

    async def count_verifiers(self, **query: QueryValue) -> int:
        """``GET /1/verifiers/count``."""
        found = await self._send(call("GET /1/verifiers/count", query=query))
        return found["verifiers_count"]

    async def get_verifier(self, verifier_id: str, **query: QueryValue) -> responses.Verifier:
        """``GET /1/verifiers/{verifier_id}``."""
        return await self._send(
            call(
                "GET /1/verifiers/{verifier_id}",
                path={"verifier_id": verifier_id},
                query=query,
                model=responses.Verifier,
            )
        )

    async def replace_verifier(
        self,
        verifier_id: str,
        policies: VerifierPolicies | None = None,
        *,
        description: str | None = None,
    ) -> int:
        """``PUT /1/verifiers/{verifier_id}``: the verifier's new version."""
        found = await self._send(
            call(
                "PUT /1/verifiers/{verifier_id}",
                path={"verifier_id": verifier_id},
                json=_fields(policies=policies, description=description),
            )
        )
        return found["version"]

    async def verifier_exists(self, verifier_id: str, **query: QueryValue) -> bool:
        """``HEAD /1/verifiers/{verifier_id}``: whether the verifier exists."""
        return await self._send(
            call(
                "HEAD /1/verifiers/{verifier_id}",
                path={"verifier_id": verifier_id},
                query=query,
                expect="exists",
            )
        )

    async def delete_verifier(self, verifier_id: str, **query: QueryValue) -> None:
        """``DELETE /1/verifiers/{verifier_id}``."""
        return await self._send(
            call(
                "DELETE /1/verifiers/{verifier_id}",
                path={"verifier_id": verifier_id},
                query=query,
                expect="none",
            )
        )

    async def verify(
        self, verifier_id: str, images: Images, **query: QueryValue
    ) -> responses.Verifications:
        """``POST /1/verifiers/{verifier_id}/verifications``: the faces of the images against
        the references of the query (``face_ids``, ``attribute_ids``, ``event_ids``,
        ``external_ids``), in the order given."""
        return await self._send(
            image_call(
                "POST /1/verifiers/{verifier_id}/verifications",
                images,
                path={"verifier_id": verifier_id},
                query=query,
                model=responses.Verifications,
            )
        )

    async def verify_json(
        self, verifier_id: str, body: Body, **query: QueryValue
    ) -> responses.Verifications:
        """``POST /1/verifiers/{verifier_id}/verifications`` with a JSON body (base64
        images, URLs or SDK descriptors)."""
        return await self._send(
            call(
                "POST /1/verifiers/{verifier_id}/verifications",
                path={"verifier_id": verifier_id},
                query=query,
                json=body,
                model=responses.Verifications,
            )
        )

    async def verify_raw(
        self,
        verifier_id: str,
        references: Sequence[Any],
        candidates: Sequence[Any],
        **query: QueryValue,
    ) -> responses.RawMatches:
        """``POST /1/verifiers/{verifier_id}/raw``: descriptors against descriptors, with
        ``status`` by the verifier's threshold. Entities are ``{"id", "type", "data"}``
        mappings, or SDK descriptors as bytes."""
        return await self._send(
            call(
                "POST /1/verifiers/{verifier_id}/raw",
                path={"verifier_id": verifier_id},
                query=query,
                json=_raw_body(references, candidates),
                model=responses.RawMatches,
            )
        )

    # Matcher ---------------------------------------------------------------------------

    async def match_faces(
        self,
        references: Sequence[Mapping[str, Any] | models.MatchReference],
        candidates: Sequence[Mapping[str, Any] | models.CandidateSet],
        **query: QueryValue,
    ) -> list[responses.ReferenceMatches]:
        """``POST /1/matcher/faces``: the best faces of the account for each reference
        (``{"type": "face_id"|"attribute_id"|"event_id"|"descriptor", "id", ...}``) in
        each candidate set (``{"filters": {"list_id": ...}, "limit", "threshold"}``)."""
        return await self._send(
            call(
                "POST /1/matcher/faces",
                query=query,
                json={"references": list(references), "candidates": list(candidates)},
                model=list[responses.ReferenceMatches],
            )
        )

    async def match_raw(
        self, references: Sequence[Any], candidates: Sequence[Any], **query: QueryValue
    ) -> responses.RawMatches:
        """``POST /1/matcher/raw``: every reference descriptor against every candidate."""
        return await self._send(
            call(
                "POST /1/matcher/raw",
                query=query,
                json=_raw_body(references, candidates),
                model=responses.RawMatches,
            )
        )

    # Samples, images, attributes -------------------------------------------------------

    async def get_face_sample(self, sample_id: str, **query: QueryValue) -> bytes:
        """``GET /1/samples/faces/{sample_id}``: the face warp, JPEG."""
        return await self._send(
            call(
                "GET /1/samples/faces/{sample_id}",
                path={"sample_id": sample_id},
                query=query,
                expect="bytes",
            )
        )

    async def delete_face_sample(self, sample_id: str, **query: QueryValue) -> None:
        """``DELETE /1/samples/faces/{sample_id}``."""
        return await self._send(
            call(
                "DELETE /1/samples/faces/{sample_id}",
                path={"sample_id": sample_id},
                query=query,
                expect="none",
            )
        )

    async def get_body_sample(self, sample_id: str, **query: QueryValue) -> bytes:
        """``GET /1/samples/bodies/{sample_id}``: the body warp, JPEG."""
        return await self._send(
            call(
                "GET /1/samples/bodies/{sample_id}",
                path={"sample_id": sample_id},
                query=query,
                expect="bytes",
            )
        )

    async def delete_body_sample(self, sample_id: str, **query: QueryValue) -> None:
        """``DELETE /1/samples/bodies/{sample_id}``."""
        return await self._send(
            call(
                "DELETE /1/samples/bodies/{sample_id}",
                path={"sample_id": sample_id},
                query=query,
                expect="none",
            )
        )

    async def get_image(self, image_id: str, **query: QueryValue) -> bytes:
        """``GET /1/images/{image_id}``: a stored source image, as it was sent."""
        return await self._send(
            call(
                "GET /1/images/{image_id}",
                path={"image_id": image_id},
                query=query,
                expect="bytes",
            )
        )

    async def get_attribute(self, attribute_id: str, **query: QueryValue) -> responses.Attribute:
        """``GET /1/attributes/{attribute_id}``."""
        return await self._send(
            call(
                "GET /1/attributes/{attribute_id}",
                path={"attribute_id": attribute_id},
                query=query,
                model=responses.Attribute,
            )
        )

    async def delete_attribute(self, attribute_id: str, **query: QueryValue) -> None:
        """``DELETE /1/attributes/{attribute_id}``."""
        return await self._send(
            call(
                "DELETE /1/attributes/{attribute_id}",
                path={"attribute_id": attribute_id},
                query=query,
                expect="none",
            )
        )

    # Faces and lists -------------------------------------------------------------------

    async def create_face(self, body: Body | None = None, **fields: Any) -> responses.FaceCreated:
        """``POST /1/faces``: a face from an ``attribute_id`` (or descriptors), with
        ``user_data``, ``external_id``, ``avatar`` and ``lists``; as a body or keywords."""
        return await self._send(
            call(
                "POST /1/faces",
                json={**_as_dict(body), **fields},
                model=responses.FaceCreated,
            )
        )

    async def list_faces(self, **query: QueryValue) -> list[responses.Face]:
        """``GET /1/faces`` (``list_id``, ``external_id``, pages)."""
        found = await self._send(call("GET /1/faces", query=query))
        return [responses.Face.model_validate(face) for face in found["faces"]]

    async def get_face(self, face_id: str, **query: QueryValue) -> responses.Face:
        """``GET /1/faces/{face_id}``."""
        return await self._send(
            call(
                "GET /1/faces/{face_id}",
                path={"face_id": face_id},
                query=query,
                model=responses.Face,
            )
        )

    async def update_face(
        self, face_id: str, *, user_data: str | None = None, external_id: str | None = None
    ) -> None:
        """``PATCH /1/faces/{face_id}``: new ``user_data`` or ``external_id``."""
        return await self._send(
            call(
                "PATCH /1/faces/{face_id}",
                path={"face_id": face_id},
                json=_fields(user_data=user_data, external_id=external_id),
                expect="none",
            )
        )

    async def delete_face(self, face_id: str, **query: QueryValue) -> None:
        """``DELETE /1/faces/{face_id}``."""
        return await self._send(
            call(
                "DELETE /1/faces/{face_id}",
                path={"face_id": face_id},
                query=query,
                expect="none",
            )
        )

    async def create_list(self, *, user_data: str | None = None) -> responses.ListCreated:
        """``POST /1/lists``: an empty list of faces."""
        return await self._send(
            call("POST /1/lists", json=_fields(user_data=user_data), model=responses.ListCreated)
        )

    async def list_lists(self, **query: QueryValue) -> list[responses.FaceList]:
        """``GET /1/lists``."""
        found = await self._send(call("GET /1/lists", query=query))
        return [responses.FaceList.model_validate(item) for item in found["lists"]]

    async def get_list(self, list_id: str, **query: QueryValue) -> responses.FaceList:
        """``GET /1/lists/{list_id}``."""
        return await self._send(
            call(
                "GET /1/lists/{list_id}",
                path={"list_id": list_id},
                query=query,
                model=responses.FaceList,
            )
        )

    async def delete_list(self, list_id: str, **query: QueryValue) -> None:
        """``DELETE /1/lists/{list_id}`` (its faces stay)."""
        return await self._send(
            call(
                "DELETE /1/lists/{list_id}",
                path={"list_id": list_id},
                query=query,
                expect="none",
            )
        )

    async def link_faces(
        self,
        list_id: str,
        face_ids: Sequence[str],
        action: Literal["attach", "detach"] = "attach",
    ) -> None:
        """``PATCH /1/lists/{list_id}/faces``: attach faces to the list, or detach them."""
        return await self._send(
            call(
                "PATCH /1/lists/{list_id}/faces",
                path={"list_id": list_id},
                json={"action": action, "face_ids": list(face_ids)},
                expect="none",
            )
        )

    # Events ----------------------------------------------------------------------------

    async def list_events(self, **query: QueryValue) -> responses.EventsPage:
        """``GET /1/events`` (``handler_id``, times, ``tags``, ``page``, ...)."""
        return await self._send(call("GET /1/events", query=query, model=responses.EventsPage))

    async def get_event(self, event_id: str, **query: QueryValue) -> responses.Event:
        """``GET /1/events/{event_id}``."""
        return await self._send(
            call(
                "GET /1/events/{event_id}",
                path={"event_id": event_id},
                query=query,
                model=responses.Event,
            )
        )

    # Accounts and tokens ---------------------------------------------------------------

    async def create_account(
        self,
        login: str,
        password: str,
        *,
        account_type: Literal["user", "admin"] | None = None,
        description: str | None = None,
        account_id: str | None = None,
    ) -> responses.AccountCreated:
        """``POST /1/accounts`` (an admin's, when authentication is on)."""
        body = _fields(
            login=login,
            password=password,
            account_type=account_type,
            description=description,
            account_id=account_id,
        )
        return await self._send(call("POST /1/accounts", json=body, model=responses.AccountCreated))

    async def get_account(self, account_id: str) -> responses.Account:
        """``GET /1/accounts/{account_id}``."""
        return await self._send(
            call(
                "GET /1/accounts/{account_id}",
                path={"account_id": account_id},
                model=responses.Account,
            )
        )

    async def create_token(
        self, *, description: str | None = None, expiration_time: str | None = None
    ) -> responses.TokenCreated:
        """``POST /1/accounts/tokens``: a bearer token; needs Basic credentials (``auth=``).
        ``expiration_time`` is RFC 3339; without it the token lasts until deleted."""
        body = _fields(description=description, expiration_time=expiration_time)
        return await self._send(
            call("POST /1/accounts/tokens", json=body, model=responses.TokenCreated)
        )

    async def list_tokens(self, **query: QueryValue) -> responses.TokensPage:
        """``GET /1/accounts/tokens``: the account's tokens (never the tokens themselves)."""
        return await self._send(
            call("GET /1/accounts/tokens", query=query, model=responses.TokensPage)
        )

    async def get_token(self, token_id: str) -> responses.Token:
        """``GET /1/accounts/tokens/{token_id}``."""
        return await self._send(
            call(
                "GET /1/accounts/tokens/{token_id}",
                path={"token_id": token_id},
                model=responses.Token,
            )
        )

    async def delete_token(self, token_id: str) -> None:
        """``DELETE /1/accounts/tokens/{token_id}``: the token stops working."""
        return await self._send(
            call(
                "DELETE /1/accounts/tokens/{token_id}",
                path={"token_id": token_id},
                expect="none",
            )
        )


def _fields(**values: Any) -> dict[str, Any]:
    """The body fields given (None: left to the server's default)."""
    return {key: value for key, value in values.items() if value is not None}


def _as_dict(body: Body | None) -> dict[str, Any]:
    if body is None:
        return {}
    if isinstance(body, models.LunaModel):
        return body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return dict(body)


def _raw_body(references: Sequence[Any], candidates: Sequence[Any]) -> dict[str, Any]:
    return {
        "references": [_descriptor_entity(e, i, "reference") for i, e in enumerate(references)],
        "candidates": [_descriptor_entity(e, i, "candidate") for i, e in enumerate(candidates)],
    }
