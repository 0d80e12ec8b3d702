"""The other side of ``bench.inbox``: remote actors, their server, and the signed mixed traffic.

Remote people (``Person``, an RSA key each) and remote chapters (``Group``, an RSA key for HTTP
signatures and an Ed25519 key published in ``assertionMethod`` as a Multikey, for FEP-8b32
proofs) live on one small aiohttp server in the benchmark's process. It serves their actor
documents and empty outboxes, takes deliveries (202), and answers a ``Follow`` of one of its
chapters with a signed ``Accept``, as any fediverse server would.

The flood is a fixed mix, repeated every 20 requests:

- 16 ``Create{Note}``: a Mastodon-shaped public note by a person mentioning the local chapter;
- 2 ``Create{Event}``: a remote chapter's new call, with an eddsa-jcs-2022 proof by the chapter;
- 1 ``Join`` of one of the local chapter's calls, by a person (each person/call pair once);
- 1 ``Create`` of an impact report with a proof, by a remote chapter that is a member of the
  local campaign, on one of its calls the node holds (each chapter/call pair once, so every
  report is a new contribution, never a replacement).

Every request is signed once, up front, in a process pool (draft-cavage RSA-SHA256 over
``(request-target) host date digest``) for the node's shared inbox. Activity ids carry the
run and the kind (``…/<run>-<kind>-<n>…``) so the database can be checked per kind afterwards.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from protocol.actors import ActorSpec, Multikey, build_actor
from protocol.events import ActionCall, build_event
from protocol.httpsig import HttpRequest, sign_request_cavage
from protocol.impact import ImpactReport, Measure, build_report
from protocol.jsonld import PUBLIC
from protocol.keys import (
    ed25519_public_to_multibase,
    generate_ed25519_key,
    generate_rsa_key,
    private_key_to_pem,
    public_key_to_pem,
)
from protocol.proofs import create_proof

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
#: One cycle of the flood (80% notes, 10% events, 5% joins, 5% reports), spread out.
MIX = (
    *("note",) * 4,
    "event",
    *("note",) * 4,
    "join",
    *("note",) * 4,
    "event",
    *("note",) * 4,
    "report",
)
KINDS = ("note", "event", "join", "report")
PEOPLE = 256
CHAPTERS = 8

Signed = tuple[str, list[tuple[str, str]], bytes]  # url, headers, body


@dataclass(frozen=True)
class Remote:
    """A remote actor: a person, or a chapter (which also signs proofs). The keys are kept as
    objects: loading an RSA PEM checks the key, which costs tens of milliseconds."""

    actor_id: str
    kind: str  # "Person" or "Group"
    key: rsa.RSAPrivateKey = field(repr=False)
    public_pem: str
    ed25519: ed25519.Ed25519PrivateKey | None = field(default=None, repr=False)  # chapters

    @property
    def key_id(self) -> str:
        return f"{self.actor_id}#main-key"

    @property
    def proof_key_id(self) -> str:
        return f"{self.actor_id}#ed25519-key"

    @property
    def name(self) -> str:
        return self.actor_id.rsplit("/", 1)[1]


def _new_rsa_pem(_: int) -> str:
    return private_key_to_pem(generate_rsa_key())


def make_remotes(origin: str, people: int, chapters: int) -> list[Remote]:
    """Fresh keys for everyone, made in a process pool (key generation is the slow part); a
    key made here is loaded without the validity check that loading an unknown PEM does."""
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 2) as pool:
        pems = pool.map(_new_rsa_pem, range(people + chapters))
    remotes = []
    for kind, count, prefix in (("Person", people, "person"), ("Group", chapters, "chapter")):
        for i in range(count):
            key = serialization.load_pem_private_key(
                pems.pop().encode(), None, unsafe_skip_rsa_key_validation=True
            )
            assert isinstance(key, rsa.RSAPrivateKey)
            remotes.append(
                Remote(
                    f"{origin}/users/{prefix}{i}",
                    kind,
                    key,
                    public_key_to_pem(key.public_key()),
                    generate_ed25519_key() if kind == "Group" else None,
                )
            )
    return remotes


def actor_document(remote: Remote, origin: str) -> dict[str, object]:
    """Our own builder's shape (what a Chapterhouse chapter publishes), for a remote actor."""
    method = None
    if remote.ed25519 is not None:
        public = remote.ed25519.public_key()
        method = Multikey(remote.proof_key_id, remote.actor_id, ed25519_public_to_multibase(public))
    base = remote.actor_id
    return build_actor(
        ActorSpec(
            id=base,
            type=remote.kind,
            preferred_username=remote.name,
            name=remote.name.capitalize(),
            summary=None,
            url=base,
            inbox=f"{base}/inbox",
            outbox=f"{base}/outbox",
            followers=f"{base}/followers",
            following=f"{base}/following",
            shared_inbox=f"{origin}/inbox",
            public_key_id=remote.key_id,
            public_key_pem=remote.public_pem,
            assertion_method=method,
            kind="chapter" if remote.kind == "Group" else None,
        )
    )


# ---------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class World:
    """Both sides' ids: what every activity of a run refers to."""

    origin: str  # the remote server
    node: str  # the node's base URL
    people: tuple[Remote, ...]
    chapters: tuple[Remote, ...]
    local_chapter: str
    campaign: str
    campaign_call: str
    join_calls: tuple[str, ...]  # the local chapter's calls (Joins go to these)
    seeds: int  # calls each remote chapter has on the node before the flood (reports' calls)
    run: str
    now: datetime  # the reference for the calls' times

    @property
    def inbox(self) -> str:
        return f"{self.node}/inbox"

    @property
    def remotes(self) -> tuple[Remote, ...]:
        return self.people + self.chapters


def kind_counts(count: int) -> dict[str, int]:
    """How many requests of each kind a flood of ``count`` holds."""
    found = dict.fromkeys(KINDS, 0)
    cycles, rest = divmod(count, len(MIX))
    for slot, kind in enumerate(MIX):
        found[kind] += cycles + (1 if slot < rest else 0)
    return found


def calls_needed(count: int, people: int, chapters: int) -> tuple[int, int]:
    """(local calls for the Joins, seeded calls per remote chapter for the reports) so that
    every Join is a new person/call pair and every report a new chapter/call pair."""
    kinds = kind_counts(count)
    return max(1, math.ceil(kinds["join"] / people)), max(1, math.ceil(kinds["report"] / chapters))


def _ordinal(n: int) -> tuple[str, int]:
    """The kind of request ``n`` and its number among the requests of that kind."""
    cycle, slot = divmod(n, len(MIX))
    kind = MIX[slot]
    per_cycle = MIX.count(kind)
    return kind, cycle * per_cycle + MIX[:slot].count(kind)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def note(world: World, person: Remote, n: int, tag: str) -> dict[str, object]:
    status = f"{person.actor_id}/statuses/{tag}-{n}"
    host = world.node.split("//", 1)[1]
    audience = {"to": [PUBLIC], "cc": [f"{person.actor_id}/followers", world.local_chapter]}
    return {
        "@context": AS_CONTEXT,
        "id": f"{status}/activity",
        "type": "Create",
        "actor": person.actor_id,
        "published": _stamp(world.now),
        **audience,
        "object": {
            "id": status,
            "type": "Note",
            "attributedTo": person.actor_id,
            "published": _stamp(world.now),
            "url": status,
            **audience,
            "sensitive": False,
            "content": (
                f'<p><span class="h-card"><a href="{world.local_chapter}" class="u-url mention">'
                f"@<span>greenpark</span></a></span> Count me in for the clean-up! ({tag} {n})</p>"
            ),
            "tag": [{"type": "Mention", "href": world.local_chapter, "name": f"@greenpark@{host}"}],
        },
    }


def _proven(chapter: Remote, doc: dict[str, object], world: World) -> dict[str, object]:
    assert chapter.ed25519 is not None
    return create_proof(
        doc, chapter.ed25519, verification_method=chapter.proof_key_id, created=world.now
    )


def _create(
    chapter: Remote, activity_id: str, obj: dict[str, object], world: World
) -> dict[str, object]:
    """The object's own context on top (a nested ``@context`` may only repeat it)."""
    return {
        "@context": obj["@context"],
        "id": activity_id,
        "type": "Create",
        "actor": chapter.actor_id,
        "published": _stamp(world.now),
        "to": [PUBLIC],
        "cc": [f"{chapter.actor_id}/followers"],
        "object": obj,
    }


def event(world: World, chapter: Remote, tag: str, n: int, *, seeded: bool) -> dict[str, object]:
    """A call by a remote chapter; a seeded one has started (reports are taken) and adopts the
    campaign's call (so reports on it count toward the campaign)."""
    start = world.now - timedelta(hours=2) if seeded else world.now + timedelta(days=7)
    call = ActionCall(
        id=f"{chapter.actor_id}/events/{tag}-{n}",
        chapter=chapter.actor_id,
        title=f"Litter pick {n}",
        start=start,
        end=start + timedelta(hours=24),
        published=world.now - timedelta(days=1),
        content="<p>Bring gloves; we provide bags.</p>",
        timezone="Europe/London",
        capacity=40,
        goal="a cleaner riverside",
        campaign=world.campaign_call if seeded else None,
        followers=f"{chapter.actor_id}/followers",
    )
    obj = _proven(chapter, build_event(call), world)
    return _create(chapter, f"{chapter.actor_id}/activities/{tag}-{n}", obj, world)


def report(world: World, chapter: Remote, call: str, n: int) -> dict[str, object]:
    rid = f"{chapter.actor_id}/reports/{world.run}-report-{n}"
    doc = build_report(
        ImpactReport(
            id=rid,
            chapter=chapter.actor_id,
            call=call,
            measures=(Measure("participants", "people", Decimal(5 + n % 20)),),
            published=world.now,
            content=f"<p>{5 + n % 20} people came.</p>",
        ),
        cc=[f"{chapter.actor_id}/followers"],
    )
    obj = _proven(chapter, doc, world)
    return _create(chapter, f"{chapter.actor_id}/activities/{world.run}-report-{n}", obj, world)


def join(world: World, person: Remote, call: str, n: int) -> dict[str, object]:
    return {
        "@context": AS_CONTEXT,
        "id": f"{person.actor_id}/joins/{world.run}-join-{n}",
        "type": "Join",
        "actor": person.actor_id,
        "object": call,
        "to": [world.local_chapter],
    }


def follow(chapter: Remote, target: str, n: int) -> dict[str, object]:
    return {
        "@context": AS_CONTEXT,
        "id": f"{chapter.actor_id}/follows/setup-{n}",
        "type": "Follow",
        "actor": chapter.actor_id,
        "object": target,
    }


def flood_activity(world: World, n: int) -> tuple[Remote, dict[str, object]]:
    """Request ``n`` of the flood: who sends it, and what."""
    kind, k = _ordinal(n)
    people, chapters = world.people, world.chapters
    if kind == "note":
        person = people[k % len(people)]
        return person, note(world, person, k, f"{world.run}-note")
    if kind == "event":
        chapter = chapters[k % len(chapters)]
        return chapter, event(world, chapter, f"{world.run}-event", k, seeded=False)
    if kind == "join":
        person = people[k % len(people)]
        call = world.join_calls[(k // len(people)) % len(world.join_calls)]
        return person, join(world, person, call, k)
    chapter = chapters[k % len(chapters)]
    seed = (k // len(chapters)) % world.seeds
    return chapter, report(world, chapter, seed_call(chapter, seed), k)


def seed_call(chapter: Remote, i: int) -> str:
    return f"{chapter.actor_id}/events/seed-{i}"


# ---------------------------------------------------------------------------- signing


def sign(remote: Remote, url: str, doc: dict[str, object]) -> Signed:
    body = orjson.dumps(doc)
    request = HttpRequest.from_mapping(
        "POST", url, [("Content-Type", "application/activity+json")], body
    )
    signed = sign_request_cavage(
        request, key_id=remote.key_id, private_key=remote.key, now=datetime.now(UTC)
    )
    return url, list(signed.headers), body


#: The world being signed for, set before the pool forks (key objects do not pickle); the
#: only module state, and only for the life of one ``presign``.
_SIGNING: dict[str, World] = {}


def _raw_chunk(bounds: tuple[int, int]) -> tuple[bytes, int]:
    world: World = _SIGNING["world"]
    out = []
    for n in range(*bounds):
        remote, doc = flood_activity(world, n)
        url, headers, body = sign(remote, world.inbox, doc)
        path = "/" + url.split("/", 3)[3]
        head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        raw = head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        out.append(b"%d\n%s" % (len(raw), raw))
    return b"".join(out), bounds[1] - bounds[0]


def presign(path: Path, world: World, count: int) -> float:
    """Write ``count`` signed flood requests, in order, to ``path`` (wrk's Lua reads them)."""
    started = time.perf_counter()
    step = 1000
    chunks = [(n, min(n + step, count)) for n in range(0, count, step)]
    _SIGNING["world"] = world
    try:
        with (
            multiprocessing.get_context("fork").Pool(os.cpu_count() or 2) as pool,
            path.open("wb") as out,
        ):
            for data, _ in pool.imap(_raw_chunk, chunks):
                out.write(data)
    finally:
        _SIGNING.clear()
    return time.perf_counter() - started


class Sender:
    """Signs and posts single activities from the benchmark process (setup and warm-up)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def signed(self, remote: Remote, doc: dict[str, object], url: str | None = None) -> Signed:
        return sign(remote, url or self.world.inbox, doc)

    async def post_all(
        self, session: aiohttp.ClientSession, requests: list[Signed], parallel: int = 16
    ) -> None:
        """Post each signed request; any answer but 2xx is an error (the setup must hold)."""
        gate = asyncio.Semaphore(parallel)

        async def one(url: str, headers: list[tuple[str, str]], body: bytes) -> None:
            hdrs = [(k, v) for k, v in headers if k.lower() != "host"]
            async with gate, session.post(url, data=body, headers=hdrs) as resp:
                if not 200 <= resp.status < 300:
                    raise RuntimeError(f"{url} answered {resp.status}: {await resp.text()}")

        await asyncio.gather(*(one(*r) for r in requests))


# ---------------------------------------------------------------------- the remote server


class RemoteServer:
    """Serves the remote actors and takes the node's deliveries; a ``Follow`` of one of its
    chapters is accepted at once (a signed ``Accept`` posted to the node's shared inbox)."""

    def __init__(self, remotes: list[Remote], port: int) -> None:
        self.origin = f"http://127.0.0.1:{port}"
        self.port = port
        self.remotes = {r.actor_id: r for r in remotes}
        self.documents = {
            r.actor_id.removeprefix(self.origin): actor_document(r, self.origin) for r in remotes
        }
        self.received: dict[str, int] = {}
        self.sender: Sender | None = None  # set once the world is known (to answer Follows)
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_get("/users/{name}", self._actor)
        app.router.add_get("/users/{name}/{collection}", self._collection)
        app.router.add_post("/{tail:.*}", self._inbox)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _actor(self, request: web.Request) -> web.Response:
        doc = self.documents.get(request.path)
        if doc is None:
            raise web.HTTPNotFound()
        return web.Response(body=orjson.dumps(doc), content_type="application/activity+json")

    async def _collection(self, request: web.Request) -> web.Response:
        if request.path.rsplit("/", 1)[0] not in self.documents:
            raise web.HTTPNotFound()
        doc = {
            "@context": AS_CONTEXT,
            "id": f"{self.origin}{request.path}",
            "type": "OrderedCollection",
            "totalItems": 0,
            "orderedItems": [],
        }
        return web.Response(body=orjson.dumps(doc), content_type="application/activity+json")

    async def _inbox(self, request: web.Request) -> web.Response:
        doc = orjson.loads(await request.read())
        kind = str(doc.get("type")) if isinstance(doc, dict) else "?"
        self.received[kind] = self.received.get(kind, 0) + 1
        if kind == "Follow" and doc.get("object") in self.remotes and self.sender is not None:
            task = asyncio.create_task(self._accept(doc))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.Response(status=202)

    async def _accept(self, follow_doc: dict[str, Any]) -> None:
        assert self.sender is not None
        chapter = self.remotes[follow_doc["object"]]
        accept: dict[str, object] = {
            "@context": AS_CONTEXT,
            "id": f"{chapter.actor_id}/accepts/{uuid.uuid4().hex}",
            "type": "Accept",
            "actor": chapter.actor_id,
            "object": {k: v for k, v in follow_doc.items() if k != "@context"},
            "to": [follow_doc.get("actor")],
        }
        async with aiohttp.ClientSession() as session:
            await self.sender.post_all(session, [self.sender.signed(chapter, accept)])
