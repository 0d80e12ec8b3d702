"""An independent ActivityPub peer built on bovine (PyPI), run as a real HTTP server.

Everything that matters for interoperability is bovine's own code, not Chapterhouse's:

- the RSA key pair: ``bovine.crypto.generate_rsa_public_private_key``;
- the actor document (a ``Person`` with ``publicKey`` and ``inbox``):
  ``bovine.activitystreams.Actor``;
- outgoing requests, signed GETs and signed POSTs (draft-cavage, ``Digest``):
  ``bovine.BovineActor`` (its ``SignedHttpClient``);
- activities it sends: ``bovine.activitystreams.activity_factory.ActivityFactory``;
- verification of incoming POSTs: ``bovine.crypto.build_validate_http_signature_raw``,
  whose key retriever fetches the signer's key from the sender's actor document over HTTP
  (a signed GET, again bovine's) and turns it into a ``CryptographicIdentifier``.

The HTTP server itself is a plain aiohttp app (bovine's own test server needs Quart, which
the library only pulls in with its ``server`` extra). The peer records every POST it
receives together with the actor bovine's verifier vouched for, and answers 401 when the
signature does not verify, as a real server would.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from bovine import BovineActor
from bovine.activitystreams import Actor
from bovine.activitystreams.activity_factory import ActivityFactory
from bovine.crypto import build_validate_http_signature_raw, generate_rsa_public_private_key
from bovine.crypto.types import CryptographicIdentifier
from bovine.utils import webfinger_response_json

from tests.rig.nodes import free_socket

log = logging.getLogger(__name__)

AP_JSON = "application/activity+json"


@dataclass
class Received:
    """One POST that reached the peer's inbox."""

    activity: dict[str, Any]
    #: The controller of the key that bovine's verifier accepted, or None when it refused.
    signed_by: str | None
    headers: dict[str, str]
    body: bytes

    @property
    def type(self) -> str | None:
        kind = self.activity.get("type")
        return kind if isinstance(kind, str) else None

    @property
    def verified(self) -> bool:
        """bovine verified the signature, and the key belongs to the activity's actor."""
        return self.signed_by is not None and self.signed_by == _id_of(self.activity.get("actor"))


@dataclass
class PostAnswer:
    status: int
    text: str


def _id_of(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        ident = value.get("id")
        return ident if isinstance(ident, str) else None
    return None


@dataclass
class BovinePeer:
    """A one-actor ActivityPub server: ``http://127.0.0.1:PORT/actor`` (``buttercup``)."""

    name: str = "buttercup"
    #: bovine's digest method for POSTs; None is bovine's default (``Digest: sha-256=...``).
    digest_method: Callable[[bytes], tuple[str, str]] | None = None
    received: list[Received] = field(default_factory=list)
    key_fetches: list[str] = field(default_factory=list)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._socket = free_socket()
        port = self._socket.getsockname()[1]
        self.origin = f"http://127.0.0.1:{port}"
        self.actor_id = f"{self.origin}/actor"
        self.key_id = f"{self.actor_id}#main-key"
        self.inbox = f"{self.origin}/inbox"
        self.public_key_pem, self._private_key_pem = generate_rsa_public_private_key()
        self.document: dict[str, Any] = Actor(
            id=self.actor_id,
            type="Person",
            preferred_username=self.name,
            name="Buttercup, a bovine peer",
            inbox=self.inbox,
            outbox=f"{self.origin}/outbox",
            followers=f"{self.origin}/followers",
            following=f"{self.origin}/following",
            public_key=self.public_key_pem,
            public_key_name="main-key",
        ).build()
        self.factory = ActivityFactory(self.document, id_generator=self.new_id)
        self._client = BovineActor(
            actor_id=self.actor_id,
            public_key_url=self.key_id,
            secret=self._private_key_pem,
            digest_method=self.digest_method,
        )
        self._verify = build_validate_http_signature_raw(self._retrieve_key)
        self._runner: web.AppRunner | None = None

    def new_id(self) -> str:
        return f"{self.origin}/activities/{uuid.uuid4()}"

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        await self._client.init()  # type: ignore[no-untyped-call]
        app = web.Application()
        app.router.add_get("/actor", self._actor)
        app.router.add_get("/.well-known/webfinger", self._webfinger)
        app.router.add_get("/activities/{ident}", self._activity)
        app.router.add_get("/join/{ident}", self._activity)
        app.router.add_post("/inbox", self._inbox)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.SockSite(self._runner, self._socket).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client.session is not None:
            await self._client.session.close()

    # -- outgoing (bovine signs) --------------------------------------------------------
    async def fetch(self, url: str) -> dict[str, Any]:
        """A signed GET through bovine; fails unless the answer is a JSON object."""
        doc: object = await self._client.get(url)
        assert isinstance(doc, dict), f"GET {url} gave {doc!r}"
        return doc

    async def post(self, inbox: str, activity: dict[str, Any]) -> PostAnswer:
        """A signed POST through bovine's ``SignedHttpClient``; the answer is returned as is."""
        ident = _id_of(activity.get("id"))
        if ident is not None and ident.startswith(self.origin):
            self.sent[ident] = activity
        assert self._client.client is not None
        response = await self._client.client.post(inbox, json.dumps(activity))
        try:
            return PostAnswer(response.status, await response.text())
        finally:
            response.release()

    def follow(self, target: str) -> dict[str, Any]:
        """A Follow of ``target`` as bovine's ActivityFactory builds it (with a fresh id)."""
        follow: dict[str, Any] = self.factory.follow(target).build()
        return follow

    # -- what arrived -------------------------------------------------------------------
    def of_type(self, kind: str) -> list[Received]:
        return [r for r in self.received if r.type == kind]

    def unverified(self) -> list[Received]:
        return [r for r in self.received if not r.verified]

    # -- key retrieval for bovine's verifier -------------------------------------------
    async def _retrieve_key(self, key_id: str) -> CryptographicIdentifier | None:
        """Fetch the sender's actor document (signed GET) and take the key it lists."""
        self.key_fetches.append(key_id)
        try:
            doc = await self._client.get(key_id)
        except aiohttp.ClientError as exc:
            log.warning("peer: cannot fetch key %s: %s", key_id, exc)
            return None
        if not isinstance(doc, dict):
            return None
        candidates = doc.get("publicKey", doc)
        for key in candidates if isinstance(candidates, list) else [candidates]:
            if not isinstance(key, dict) or key.get("id") != key_id:
                continue
            owner = key.get("owner")
            # The document that lists the key must be its owner's actor document.
            if "inbox" in doc and doc.get("id") != owner:
                return None
            identifier: CryptographicIdentifier = CryptographicIdentifier.from_public_key(key)
            return identifier
        return None

    # -- routes -------------------------------------------------------------------------
    async def _actor(self, request: web.Request) -> web.Response:
        return web.json_response(self.document, content_type=AP_JSON)

    async def _webfinger(self, request: web.Request) -> web.Response:
        host = self.origin.split("://", 1)[1]
        if request.query.get("resource") != f"acct:{self.name}@{host}":
            return web.json_response({"error": "unknown resource"}, status=404)
        return web.json_response(
            webfinger_response_json(f"acct:{self.name}@{host}", self.actor_id),
            content_type="application/jrd+json",
        )

    async def _activity(self, request: web.Request) -> web.Response:
        doc = self.sent.get(f"{self.origin}{request.path}")
        if doc is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(doc, content_type=AP_JSON)

    async def _inbox(self, request: web.Request) -> web.Response:
        body = await request.read()

        async def read_body() -> bytes:
            return body

        signed_by = await self._verify(request.method, str(request.url), request.headers, read_body)
        try:
            activity = json.loads(body)
        except ValueError:
            return web.json_response({"error": "not JSON"}, status=400)
        if not isinstance(activity, dict):
            return web.json_response({"error": "not a JSON object"}, status=400)
        received = Received(activity, signed_by, dict(request.headers), body)
        self.received.append(received)
        log.info(
            "peer: received %s from %s, signature %s",
            received.type,
            activity.get("actor"),
            "verified" if received.verified else "REFUSED",
        )
        if not received.verified:
            return web.json_response({"error": "signature not verified"}, status=401)
        return web.Response(status=202)
