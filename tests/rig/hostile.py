"""A scripted, possibly hostile ActivityPub server on loopback.

It is a real aiohttp server on a free port with real RSA keys. Every path can be told what to
answer: a genuine actor document (whose key signs this server's requests), or a bad variant
(``text/html``, a document whose ``id`` is not its URL, a 50 MB streamed body, a redirect to
another address, a redirect loop, a standalone key document naming someone else). It records
every request it receives, so a test can assert that a node did *not* fetch anything from it.

It also signs and sends requests, with draft-cavage or RFC 9421, as an honest server would or
with one thing wrong (stale date, missing digest, someone else's key id, ...).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from node.runtime.clock import SystemClock
from protocol.httpsig import HttpRequest, sign_request_cavage, sign_request_rfc9421
from protocol.ids import origin_of
from protocol.jsonld import CONTEXT
from protocol.keys import PrivateKey, generate_rsa_key, public_key_to_pem
from tests.rig.nodes import free_socket

AP = "application/activity+json"
Responder = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """A node's answer to a request sent by the server."""

    status: int
    problem: dict[str, Any]
    headers: Mapping[str, str]

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail", ""))


@functools.cache
def shared_key() -> PrivateKey:
    """One RSA key per test process for every server that is not given its own (key
    generation costs tens of milliseconds; which key a server signs with never matters)."""
    return generate_rsa_key(2048)


@dataclass
class HostileServer:
    """Start with ``await HostileServer().start()``; stop with ``await server.stop()``."""

    key: PrivateKey = field(default_factory=shared_key)
    #: Status the server answers to POSTs (deliveries a node makes to it).
    post_status: int = 202
    seen: list[Seen] = field(default_factory=list)
    #: Bytes actually written by streamed answers, per path (to prove a reader gave up early).
    streamed: dict[str, int] = field(default_factory=dict)
    base_url: str = ""
    _routes: dict[str, Responder] = field(default_factory=dict)
    _keys: dict[str, PrivateKey] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> HostileServer:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        sock = free_socket()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    # -- what it received -----------------------------------------------------------------
    def hits(self, path: str | None = None, method: str | None = None) -> list[Seen]:
        return [
            s
            for s in self.seen
            if (path is None or s.path == path) and (method is None or s.method == method)
        ]

    def gets(self) -> list[str]:
        """Paths of every GET received, in order (what a node fetched from here)."""
        return [s.path for s in self.seen if s.method == "GET"]

    def posts(self, path: str | None = None) -> list[dict[str, Any]]:
        """Bodies of the POSTs received (deliveries a node made to this server)."""
        out = []
        for s in self.hits(path, "POST"):
            try:
                out.append(orjson.loads(s.body))
            except orjson.JSONDecodeError:
                out.append({"raw": s.body.decode("utf-8", "replace")})
        return out

    def forget(self) -> None:
        self.seen.clear()
        self.streamed.clear()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read() if request.body_exists else b""
        self.seen.append(
            Seen(request.method, request.path, request.query_string, dict(request.headers), body)
        )
        responder = self._routes.get(request.path)
        if responder is not None:
            return await responder(request)
        if request.method == "POST":
            return web.Response(status=self.post_status)
        return web.Response(status=404, text="not here")

    # -- what it serves -------------------------------------------------------------------
    def serve(self, path: str, responder: Responder) -> str:
        """Answer ``path`` (every method) with ``responder``; returns the full URL."""
        self._routes[path] = responder
        return self.url(path)

    def serve_json(
        self, path: str, doc: object, *, content_type: str = AP, status: int = 200
    ) -> str:
        body = orjson.dumps(doc)

        async def respond(_: web.Request) -> web.StreamResponse:
            return web.Response(status=status, body=body, content_type=content_type)

        return self.serve(path, respond)

    def serve_text(self, path: str, text: str, *, content_type: str = "text/html") -> str:
        async def respond(_: web.Request) -> web.StreamResponse:
            return web.Response(text=text, content_type=content_type)

        return self.serve(path, respond)

    def serve_redirect(self, path: str, location: str, *, status: int = 302) -> str:
        async def respond(_: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": location})

        return self.serve(path, respond)

    def serve_redirect_loop(self, path: str, *, hops: int = 1) -> str:
        """``path`` → ``path/1`` → ... → ``path/{hops-1}`` → ``path`` again, forever."""
        chain = [path] + [f"{path}/{i}" for i in range(1, hops)]
        for here, there in zip(chain, chain[1:] + chain[:1], strict=True):
            self.serve_redirect(here, self.url(there), status=302 if here == path else 307)
        return self.url(path)

    def serve_wrong_id(
        self, path: str, claimed_id: str, *, username: str = "mallory", key_id: str | None = None
    ) -> str:
        """A well-formed actor document at ``path`` that claims to be ``claimed_id`` (its inbox,
        collections and key all moved along, so only the id-versus-URL rule can refuse it)."""
        doc = self.actor_document(username)
        text = orjson.dumps(doc).decode().replace(self.actor_id(username), claimed_id)
        moved = orjson.loads(text)
        moved["endpoints"] = {"sharedInbox": f"{origin_of(claimed_id)}/inbox"}
        moved["publicKey"]["id"] = key_id or f"{claimed_id}#main-key"
        return self.serve_json(path, moved)

    def serve_stream(
        self,
        path: str,
        total_bytes: int,
        *,
        content_type: str = AP,
        declare_length: bool = False,
        chunk: int = 64 * 1024,
    ) -> str:
        """A JSON-looking body of ``total_bytes``, written chunk by chunk (no length unless
        ``declare_length``); ``streamed[path]`` counts what was actually written."""

        async def respond(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": content_type})
            if declare_length:
                response.content_length = total_bytes
            self.streamed[path] = 0
            await response.prepare(request)
            piece = b'{"id": "' + b"x" * (chunk - 8)
            filler = b"x" * chunk
            try:
                written = 0
                while written < total_bytes:
                    data = (piece if written == 0 else filler)[: total_bytes - written]
                    await response.write(data)
                    written += len(data)
                    self.streamed[path] = written
                await response.write_eof()
            except (ConnectionError, RuntimeError, asyncio.CancelledError):
                pass  # the reader hung up: that is what a capped reader should do
            return response

        return self.serve(path, respond)

    # -- actors ---------------------------------------------------------------------------
    def actor_id(self, name: str) -> str:
        return self.url(f"/actors/{name}")

    def key_id(self, name: str) -> str:
        return f"{self.actor_id(name)}#main-key"

    def actor_document(
        self, username: str, *, kind: str = "Person", key: PrivateKey | None = None, **extra: Any
    ) -> dict[str, Any]:
        """A genuine actor document for ``/actors/{username}``; ``extra`` adds or overrides."""
        name = username
        actor_id = self.actor_id(name)
        public = (key or self.key).public_key()
        doc: dict[str, Any] = {
            "@context": CONTEXT,
            "id": actor_id,
            "type": kind,
            "preferredUsername": name,
            "inbox": f"{actor_id}/inbox",
            "outbox": f"{actor_id}/outbox",
            "followers": f"{actor_id}/followers",
            "following": f"{actor_id}/following",
            "endpoints": {"sharedInbox": self.url("/inbox")},
            "publicKey": {
                "id": self.key_id(name),
                "owner": actor_id,
                "publicKeyPem": public_key_to_pem(public),  # type: ignore[arg-type]
            },
        }
        doc.update(extra)
        return doc

    def add_actor(
        self, username: str, *, kind: str = "Person", key: PrivateKey | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Serve a genuine actor document at ``/actors/{username}``; its key signs as them."""
        name = username
        doc = self.actor_document(name, kind=kind, key=key, **extra)
        self._keys[name] = key or self.key
        self.serve_json(f"/actors/{name}", doc)
        return doc

    def activity_id(self, label: str = "a") -> str:
        return self.url(f"/activities/{label}-{next(self._ids)}")

    # -- sending --------------------------------------------------------------------------
    def signed_headers(
        self,
        url: str,
        body: bytes | None,
        *,
        as_actor: str = "mallory",
        key_id: str | None = None,
        key: PrivateKey | None = None,
        now: datetime | None = None,
        scheme: str = "cavage",
        covered: Sequence[str] | None = None,
        content_type: str | None = AP,
        method: str = "POST",
    ) -> dict[str, str]:
        """Headers of a request signed by ``as_actor`` (or with an explicit key id / key)."""
        base_headers = {"Content-Type": content_type} if content_type else {}
        request = HttpRequest.from_mapping(method, url, base_headers, body)
        signing_key = key or self._keys.get(as_actor, self.key)
        kid = key_id or self.key_id(as_actor)
        moment = now or SystemClock().now()
        if scheme == "rfc9421":
            signed = sign_request_rfc9421(
                request, key_id=kid, private_key=signing_key, now=moment, components=covered
            )
        else:
            signed = sign_request_cavage(
                request, key_id=kid, private_key=signing_key, now=moment, headers=covered
            )
        return dict(signed.headers)

    async def post(
        self,
        url: str,
        activity: Mapping[str, Any] | bytes,
        *,
        headers: Mapping[str, str] | None = None,
        **signing: Any,
    ) -> Reply:
        """POST ``activity`` to ``url``, signed (see ``signed_headers``) unless ``headers``."""
        body = activity if isinstance(activity, bytes) else orjson.dumps(activity)
        sent = dict(headers) if headers is not None else self.signed_headers(url, body, **signing)
        return await send(url, body, sent)


async def send(
    url: str,
    body: bytes | Iterable[bytes],
    headers: Mapping[str, str],
    *,
    session: aiohttp.ClientSession | None = None,
) -> Reply:
    """POST raw bytes with exactly these headers; the answer as a :class:`Reply`."""

    async def go(client: aiohttp.ClientSession) -> Reply:
        async with client.post(
            url, data=body, headers=dict(headers), allow_redirects=False
        ) as resp:
            raw = await resp.read()
            try:
                problem = orjson.loads(raw) if raw else {}
            except orjson.JSONDecodeError:
                problem = {"raw": raw.decode("utf-8", "replace")}
            if not isinstance(problem, dict):
                problem = {"raw": problem}
            return Reply(resp.status, problem, dict(resp.headers))

    if session is not None:
        return await go(session)
    async with aiohttp.ClientSession() as client:
        return await go(client)


def standalone_key_document(key_id: str, owner: str, key: PrivateKey) -> dict[str, Any]:
    """A key served apart from its actor (as some servers do): ``{id, owner, publicKeyPem}``."""
    return {
        "@context": "https://w3id.org/security/v1",
        "id": key_id,
        "type": "CryptographicKey",
        "owner": owner,
        "publicKeyPem": public_key_to_pem(key.public_key()),  # type: ignore[arg-type]
    }
