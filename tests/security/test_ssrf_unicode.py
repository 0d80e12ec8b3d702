"""Hosts spelt in Unicode (fullwidth or circled digits, ideographic full stops) that the HTTP
client reads as a loopback address: never contacted, from any of the ways a stranger can make
a node fetch a URL (a signature's keyId, the anonymous remote-follow form, an Announce).

Two kinds of node refuse loopback here: a *strict* one, as in production (no private networks
at all, https only), served over plain HTTP on loopback for the test; and the suite's usual
testing node restricted by an allow-list (only the hostile and honest servers' ports). The
address behind each spelling is a real listener that records every connection or request it
is offered, so "nothing reached it" is observed, not inferred.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiohttp import web
from sqlalchemy import select

from node.features.actors.local import create_actor
from node.runtime.app import create_app, open_services
from node.runtime.config import Settings
from protocol.activities import build_announce, build_follow
from protocol.webfinger import REMOTE_FOLLOW_REL
from storage.models import FollowUp
from tests.rig.database import fresh_database_url, on_postgresql
from tests.rig.hostile import HostileServer, Reply, send
from tests.rig.nodes import Node, eventually, free_socket
from tests.security.helpers import (
    Honest,
    Target,
    assert_nothing_stored,
    assert_serves_honest,
    make_target,
    rows,
)

#: Each reads as 127.0.0.1 to yarl/aiohttp (IDNA / UTS #46 mapping).
SPELLINGS = [
    "１２７.０.０.１",  # fullwidth digits
    "127。0。0。1",  # ideographic full stops (U+3002)
    "127．0．0．1",  # fullwidth full stops (U+FF0E)
    "127｡0｡0｡1",  # halfwidth ideographic full stops (U+FF61)
    "①②⑦.⓪.⓪.①",  # circled digits
]

HTML = {"Accept": "text/html"}
FLASH = re.compile(r'<p class="flash" role="status">(.*?)</p>', re.DOTALL)


@dataclass
class Listener:
    """A bare TCP listener on loopback: every connection it is offered is recorded (an https
    client connects before it says anything HTTP), with the first bytes it was sent."""

    connections: list[bytes] = field(default_factory=list)
    server: asyncio.Server | None = None
    port: int = 0

    async def start(self) -> Listener:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.append(b"")
        with contextlib.suppress(TimeoutError, ConnectionError):
            self.connections[-1] = await asyncio.wait_for(reader.read(512), 1)
        writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@dataclass
class StrictNode:
    """A node as production runs it (``allow_private_network`` off, https ids), listening on
    loopback over plain HTTP so the test can talk to it."""

    node: Node
    address: str  # where it listens: http://127.0.0.1:PORT

    @property
    def chapter(self) -> str:
        return f"{self.node.base_url}/actors/greenpark"


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    server = await Listener().start()
    yield server
    await server.stop()


@pytest.fixture
async def strict(tmp_path: Path) -> AsyncIterator[StrictNode]:
    data_dir = tmp_path / "strict"
    sock = free_socket()
    extra = {"database_url": await fresh_database_url(data_dir)} if on_postgresql() else {}
    settings = Settings(
        data_dir=data_dir,
        base_url="https://chapter.test",
        allow_private_network=False,
        fetch_timeout_seconds=3,
        **extra,
    )
    services = await open_services(settings)
    runner = web.AppRunner(create_app(services), access_log=None, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    node = Node(services, runner, data_dir)
    await create_actor(services, "greenpark", "chapter")
    yield StrictNode(node, f"http://127.0.0.1:{sock.getsockname()[1]}")
    await node.stop()


def _public_text(reply: Reply, *echoed: str) -> str:
    """The whole problem document, minus the text the sender itself wrote (its keyId)."""
    text = orjson.dumps(reply.problem).decode()
    for value in sorted(echoed, key=len, reverse=True):
        text = text.replace(value, "")
    return text


def _assert_tells_nothing(text: str, port: int) -> None:
    for word in ("127.0.0.1", str(port), "Connect", "connect", "refused", "Errno", "ssl"):
        assert word not in text, f"{word!r} leaked in {text!r}"


# -- a signature's keyId ---------------------------------------------------------------------


async def test_strict_node_never_connects_to_a_unicode_loopback_key_id(
    strict: StrictNode, listener: Listener
):
    signer = HostileServer()  # only its key signs; nothing is served
    inbox = f"{strict.chapter}/inbox"
    before = await rows(strict.node)
    for spelling in SPELLINGS:
        origin = f"https://{spelling}:{listener.port}"
        key_id = f"{origin}/actors/mallory#main-key"
        body = orjson.dumps(
            build_follow(f"{origin}/follows/1", f"{origin}/actors/mallory", strict.chapter)
        )
        headers = signer.signed_headers(inbox, body, key_id=key_id)
        reply = await send(f"{strict.address}/actors/greenpark/inbox", body, headers)
        assert reply.status == 401, (spelling, reply)
        assert "key_fetch_failed" in reply.detail, (spelling, reply.detail)
        _assert_tells_nothing(_public_text(reply, key_id, key_id.split("#")[0]), listener.port)
    assert listener.connections == [], "the node connected to the loopback listener"
    await assert_nothing_stored(strict.node, before)


async def test_allowlisted_node_never_requests_a_unicode_loopback_key_id(
    nodes, hostile: HostileServer, honest: Honest
):
    """The internal service is a real actor server on a loopback port the allow-list does not
    name: every Unicode spelling of its address is refused before a request reaches it."""
    internal = await HostileServer().start()
    try:
        internal.add_actor("mallory")
        target = await _allowlisted_target(nodes, hostile, honest)
        before = await rows(target.node)
        for spelling in SPELLINGS:
            key_id = f"http://{spelling}:{internal.port}/actors/mallory#main-key"
            follow = build_follow(
                hostile.activity_id("follow"), hostile.actor_id("mallory"), target.chapter
            )
            reply = await hostile.post(target.inbox, follow, key_id=key_id)
            assert reply.status == 401, (spelling, reply)
            assert "key_fetch_failed" in reply.detail, (spelling, reply.detail)
            _assert_tells_nothing(_public_text(reply, key_id, key_id.split("#")[0]), internal.port)
        assert internal.seen == [], [s.path for s in internal.seen]
        await assert_nothing_stored(target.node, before)
        await assert_serves_honest(target, honest)
    finally:
        await internal.stop()


async def test_a_refused_connection_reads_as_unreachable_in_the_401(
    nodes, hostile: HostileServer, honest: Honest, listener: Listener
):
    """An allowed address where nothing answers: the peer learns "unreachable", not how (a
    refused connection told apart from a timeout would make the node a port scanner)."""
    closed = listener.port
    await listener.stop()  # the port is free now: connecting to it is refused
    target = await make_target(
        nodes,
        private_network_allowlist=f"127.0.0.1:{hostile.port},127.0.0.1:{honest.node.port},"
        f"127.0.0.1:{closed}",
    )
    key_id = f"http://127.0.0.1:{closed}/actors/mallory#main-key"
    follow = build_follow(
        hostile.activity_id("follow"), hostile.actor_id("mallory"), target.chapter
    )
    reply = await hostile.post(target.inbox, follow, key_id=key_id)
    assert reply.status == 401 and "key_fetch_failed" in reply.detail, reply
    assert "unreachable" in reply.detail, reply.detail
    public = _public_text(reply, key_id, key_id.split("#")[0])
    for word in ("Connect", "connect", "refused", "Errno", "ssl", f"{closed})"):
        assert word not in public, f"{word!r} leaked in {public!r}"
    await assert_serves_honest(target, honest)


# -- the anonymous remote-follow form ----------------------------------------------------------


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _flash(page: str) -> str:
    match = FLASH.search(page)
    assert match, "the page shows no message"
    return html.unescape(match.group(1))


async def _remote_follow(base: str, handle: str) -> tuple[aiohttp.ClientResponse, str]:
    """Post the chapter page's remote-follow form as an anonymous visitor; the answer (not
    followed) and the message the chapter page then shows ("" when it redirected away).

    The session cookie is carried by hand: a strict node marks it Secure, and the test talks
    plain HTTP to it."""
    page_url = f"{base}/actors/greenpark"
    async with aiohttp.ClientSession() as http:
        async with http.get(page_url, headers=HTML) as resp:
            assert resp.status == 200
            token = _csrf(await resp.text())
            cookies = {k: m.value for k, m in resp.cookies.items()}
        async with http.post(
            f"{page_url}/remote-follow",
            headers={**HTML, "Cookie": _cookie_header(cookies)},
            data={"csrf": token, "handle": handle},
            allow_redirects=False,
        ) as answer:
            await answer.read()
            cookies.update({k: m.value for k, m in answer.cookies.items()})
        if answer.status != 303:
            return answer, ""
        async with http.get(page_url, headers={**HTML, "Cookie": _cookie_header(cookies)}) as resp:
            return answer, _flash(await resp.text())


def _cookie_header(cookies: dict[str, str]) -> str:
    jar: SimpleCookie = SimpleCookie()
    for name, value in cookies.items():
        jar[name] = value
    return "; ".join(f"{name}={morsel.coded_value}" for name, morsel in jar.items())


async def test_strict_node_remote_follow_form_never_connects_to_unicode_loopback(
    strict: StrictNode, listener: Listener
):
    for spelling in SPELLINGS:
        host = f"{spelling}:{listener.port}"
        answer, message = await _remote_follow(strict.address, f"mallory@{host}")
        assert answer.status == 303, (spelling, answer.status)
        assert answer.headers["Location"] == strict.chapter  # back to the page, not away
        assert message.startswith(f"{host} could not be reached"), message
        assert "127.0.0.1" not in message, message
    assert listener.connections == [], "the node connected to the loopback listener"


async def test_allowlisted_node_remote_follow_form_tells_unreachable_from_unsupported(
    nodes, hostile: HostileServer, honest: Honest, listener: Listener
):
    internal = await HostileServer().start()
    closed = listener.port
    await listener.stop()
    try:
        target = await make_target(
            nodes,
            private_network_allowlist=f"127.0.0.1:{hostile.port},127.0.0.1:{honest.node.port},"
            f"127.0.0.1:{closed}",
        )
        base = target.node.base_url
        for spelling in SPELLINGS:
            answer, message = await _remote_follow(base, f"mallory@{spelling}:{internal.port}")
            assert answer.status == 303 and "could not be reached" in message, message
        assert internal.seen == [], [s.path for s in internal.seen]
        # Nothing listens at an allowed port: unreachable, not "does not offer remote following".
        answer, message = await _remote_follow(base, f"mallory@127.0.0.1:{closed}")
        assert message.startswith(f"127.0.0.1:{closed} could not be reached"), message
        for word in ("Connect", "refused", "Errno"):
            assert word not in message, message
        # An allowed server without a subscribe link does not offer it...
        answer, message = await _remote_follow(base, f"mallory@{hostile.authority}")
        assert "does not offer remote following" in message, message
        # WebFinger may redirect to another origin, but every hop is checked like the first.
        for spelling in SPELLINGS:
            hostile.serve_redirect(
                "/.well-known/webfinger",
                f"http://{spelling}:{internal.port}/.well-known/webfinger?resource=acct:mallory",
            )
            answer, message = await _remote_follow(base, f"mallory@{hostile.authority}")
            assert f"{hostile.authority} could not be reached" in message, message
            assert "127.0.0.1:" + str(internal.port) not in message, message
        assert internal.seen == [], [s.path for s in internal.seen]
        # ...and a server with a subscribe link is where the visitor is sent (the form asks).
        template = hostile.url("/authorize_interaction?uri={uri}")
        hostile.serve_json(
            "/.well-known/webfinger",
            {
                "subject": "acct:mallory",
                "links": [{"rel": REMOTE_FOLLOW_REL, "template": template}],
            },
            content_type="application/jrd+json",
        )
        answer, _ = await _remote_follow(base, f"mallory@{hostile.authority}")
        assert answer.status == 302, answer.status
        assert answer.headers["Location"].startswith(hostile.url("/authorize_interaction"))
    finally:
        await internal.stop()


# -- an Announce (its object is fetched by a durable follow-up) --------------------------------


async def test_announced_objects_on_unicode_loopback_hosts_are_never_fetched(
    nodes, hostile: HostileServer, honest: Honest
):
    internal = await HostileServer().start()
    try:
        target = await _allowlisted_target(nodes, hostile, honest)
        mallory = hostile.actor_id("mallory")
        announced = []
        for i, spelling in enumerate(SPELLINGS):
            object_id = f"http://{spelling}:{internal.port}/objects/{i}"
            announce = build_announce(hostile.activity_id("announce"), mallory, object_id)
            announce["object"] = {"id": object_id, "type": "Note", "content": "relayed"}
            reply = await hostile.post(target.inbox, announce)
            assert reply.status == 202, (spelling, reply)
            announced.append(announce["id"])
        # The control: an object on the allow-listed server is fetched by the same path.
        control = hostile.url("/objects/control")
        announce = build_announce(hostile.activity_id("announce"), mallory, control)
        announce["object"] = {"id": control, "type": "Note", "content": "relayed"}
        assert (await hostile.post(target.inbox, announce)).status == 202
        announced.append(announce["id"])

        async def all_tried() -> bool:
            async with target.node.services.db.read() as session:
                tried = await session.scalars(
                    select(FollowUp.key).where(
                        FollowUp.kind == "relayed",
                        (FollowUp.attempts > 0) | (FollowUp.state != "pending"),
                    )
                )
                return set(announced) <= set(tried)

        await eventually(all_tried, timeout=15, what="every relayed object to be tried")
        assert "/objects/control" in hostile.gets()
        assert internal.seen == [], [s.path for s in internal.seen]
        await assert_serves_honest(target, honest)
    finally:
        await internal.stop()


async def _allowlisted_target(nodes, hostile: HostileServer, honest: Honest) -> Target:
    """The usual testing node, allowed to reach only the hostile and honest servers."""
    allow = f"127.0.0.1:{hostile.port},127.0.0.1:{honest.node.port}"
    return await make_target(nodes, private_network_allowlist=allow)
