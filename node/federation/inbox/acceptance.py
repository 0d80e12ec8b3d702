"""The inbox pipeline: authenticate before any side effect, then persist and answer 202.

size cap → content type → JSON parse → signature (key fetched and cached; refetched once
when a cached key fails) → key owner = actor → origin rules → de-duplicated insert through
the group-commit writer. Handling happens later, in the inbox worker.

A blocked sender is refused (403) except for a signed ``Delete``: a retraction only ever takes
something away, and refusing it would keep a blocked chapter's numbers in place for good.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import orjson
from aiohttp import web

from node.federation.admission.blocks import RELOAD_SECONDS, current_blocks
from node.federation.admission.ratelimit import charge_client, charge_verified, refund_client
from node.federation.inbox.group_commit import ActivityIdConflict, GroupCommitWriter
from node.federation.resolver import ResolveError
from node.runtime.errors import HttpError
from node.runtime.services import Services
from protocol.activities import Activity, parse_activity
from protocol.authority import attribution_is_actor, key_owner_is_actor, same_origin_claims
from protocol.errors import (
    AuthorityError,
    MalformedDocument,
    SignatureError,
    SignatureFailure,
    UnsupportedType,
)
from protocol.httpsig import HttpRequest, precheck_signature, verify_request
from protocol.ids import authority_of
from protocol.jsondoc import MAX_JSON_DEPTH, load_json_object
from protocol.vocabulary import has_type
from storage.models.activity import RECEIVED

log = logging.getLogger(__name__)

ACCEPTED_MEDIA = frozenset({"application/activity+json", "application/ld+json", "application/json"})


def _unauthorized(detail: str) -> HttpError:
    return HttpError(
        401,
        detail,
        title="Signature verification failed",
        headers={
            "WWW-Authenticate": 'Signature realm="chapterhouse", '
            'headers="(request-target) host date digest"'
        },
    )


async def read_body(request: web.Request, cap: int) -> bytes:
    """The request body, refusing more than ``cap`` bytes without reading them all."""
    if request.content_length is not None and request.content_length > cap:
        raise HttpError(413, f"body of {request.content_length} bytes exceeds the {cap}-byte limit")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size > cap:
            raise HttpError(413, f"body exceeds the {cap}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_body(body: bytes) -> dict[str, Any]:
    """The body as one JSON object, read one way only (``protocol.jsondoc``): no duplicate keys,
    no JSON-LD keyword that changes its meaning under expansion, nesting within the limit."""
    try:
        return load_json_object(body, max_depth=MAX_JSON_DEPTH)
    except MalformedDocument as exc:
        raise HttpError(400, str(exc)) from exc


def request_view(services: Services, request: web.Request, body: bytes) -> HttpRequest:
    """The request as it must have been signed: for this node's own origin and the raw target.

    Using our base URL (not the client's Host header) means a request signed for another host
    and replayed here verbatim fails verification: the signed host no longer matches.
    """
    url = f"{services.settings.base_url}{request.raw_path}"
    return HttpRequest.from_mapping(request.method, url, list(request.headers.items()), body)


def sender_key_id(view: HttpRequest) -> str:
    """The signature's key id, read from the headers alone (nothing fetched yet).

    Everything that needs no key is checked first: one signature only, headers that parse and
    an algorithm we verify. A request no key could make verify (``hmac-sha256``, a second
    signature) is refused before it can make the node fetch anyone's key."""
    try:
        return precheck_signature(view)
    except SignatureError as exc:
        raise _unauthorized(str(exc)) from exc


async def admit_sender(services: Services, key_id: str) -> None:
    """Blocks, before the sender costs us a key fetch or a verification.

    No rate budget is charged here: the key id is only claimed until verified, and charging it
    (or its domain) would let junk naming an honest peer's key lock that peer out. Before
    verification a request spends only its client address's budget (``charge_client``); its
    key and its owner's domain are charged once verified (``charge_verified``)."""
    now = time.monotonic()  # the event loop's clock
    blocks = services.blocks
    # current_blocks checks the age too; asking first spares every request a coroutine.
    if now - blocks.loaded_at > RELOAD_SECONDS:
        blocks = await current_blocks(services, now=now)
    try:
        host: str | None = authority_of(key_id)
    except MalformedDocument:
        host = None  # the signature check refuses it
    refusal = blocks.refusal(key_id, host)
    if refusal is not None:
        raise HttpError(403, f"blocked: {refusal}")


async def verify_signature(
    services: Services, view: HttpRequest, key_id: str, *, stored_if_gone: bool = False
) -> str:
    """Verify the HTTP signature; returns the owner of the signing key. ``stored_if_gone``
    (a ``Delete``): a deleted account's stored key verifies it (the resolver explains)."""
    window = timedelta(seconds=services.settings.signature_window_seconds)
    for attempt in (1, 2):
        try:
            key = await services.resolver.key(
                key_id, refresh=attempt == 2, stored_if_gone=stored_if_gone
            )
        except ResolveError as exc:  # a superseded key, a failed fetch, or our fetch cap
            raise _unauthorized(f"{exc.reason.value}: {exc}") from exc
        try:
            verify_request(view, key.public_key, now=services.clock.now(), window=window)
        except SignatureError as exc:
            retryable = exc.reason in {SignatureFailure.INVALID, SignatureFailure.KEY_TYPE_MISMATCH}
            if attempt == 1 and retryable and not key.fetched:
                log.info("inbox.key_refetch", extra={"key_id": key_id})
                continue
            raise _unauthorized(str(exc)) from exc
        return key.owner
    raise AssertionError("unreachable")


#: A rule of the domain that an inbound activity must meet before it is stored (the features
#: supply them; the pipeline knows nothing of what they check). It raises ``HttpError``.
InboundCheck = Callable[[Services, Activity], Awaitable[None]]


async def accept_incoming(
    services: Services,
    writer: GroupCommitWriter,
    request: web.Request,
    checks: Sequence[InboundCheck] = (),
) -> Activity:
    """Run the whole acceptance pipeline; returns the stored (or already known) activity."""
    settings = services.settings
    client = charge_client(services.limits, request)  # before its body is even read
    body = await read_body(request, settings.max_body_bytes)
    media = request.headers.get("Content-Type", "")
    if media not in ACCEPTED_MEDIA:  # the usual bare media type needs no parsing
        media = (request.content_type or "").lower()
    if media not in ACCEPTED_MEDIA:
        raise HttpError(
            415,
            f"content type {media or 'none'} is not ActivityPub JSON "
            "(use application/activity+json)",
        )
    view = request_view(services, request, body)
    key_id = sender_key_id(view)
    try:
        await admit_sender(services, key_id)
        refused: HttpError | None = None
    except HttpError as exc:
        if exc.status != 403:
            raise
        refused = exc  # blocked: only a Delete, which can only take something away, gets in
    doc = parse_json_body(body)
    deletion = has_type(doc, "Delete")  # type is a set: ["Delete"] is a Delete too
    if refused is not None and not deletion:
        raise refused
    key_owner = await verify_signature(services, view, key_id, stored_if_gone=deletion)
    if services.blocks.refusal(key_owner) is not None and not deletion:
        raise HttpError(403, f"blocked: {key_owner} is blocked on this node")
    refund_client(services.limits, client)  # its address spends only on what fails to verify
    charge_verified(services.limits, key_id, key_owner)  # proven now: the key and its domain
    try:
        activity = parse_activity(doc, allow_http=settings.allow_http)
    except UnsupportedType as exc:
        raise HttpError(422, str(exc)) from exc
    except MalformedDocument as exc:
        raise HttpError(400, f"malformed activity: {exc}") from exc
    try:
        key_owner_is_actor(key_owner, activity)
        same_origin_claims(activity)
        attribution_is_actor(activity)
    except AuthorityError as exc:
        raise HttpError(403, str(exc)) from exc
    for check in checks:
        await check(services, activity)
    # The fingerprint ignores key order and whitespace, so an honest re-serialisation of the
    # same activity is a duplicate, while any change of content is a conflict.
    fingerprint = hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()
    try:
        await writer.submit(
            {
                "activity_id": activity.id,
                "activity_type": activity.type,
                "actor": activity.actor,
                "body": body,
                "body_sha256": fingerprint,
                "state": RECEIVED,
                "attempts": 0,
            }
        )
    except ActivityIdConflict as exc:
        raise HttpError(
            409, f"a different activity is already known under the id {activity.id}"
        ) from exc
    if services.unavailable_hosts:
        await services.note_alive(authority_of(activity.actor))
    if log.isEnabledFor(logging.DEBUG):
        log.debug("inbox.accepted", extra={"activity_id": activity.id, "type": activity.type})
    return activity
