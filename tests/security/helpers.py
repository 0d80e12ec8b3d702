"""Shared checks for the security suite: row counts, and "the node still serves honest peers"."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select

from protocol.activities import build_follow
from storage.models import (
    ActionCall,
    Commitment,
    Contribution,
    Delivery,
    Follow,
    ImpactReport,
    InboxItem,
    LocalActor,
    OutboxActivity,
    Participant,
    RemoteActor,
)
from storage.models.delivery import PENDING
from tests.rig.hostile import Reply, send
from tests.rig.nodes import Node, eventually
from tests.rig.signing import signed_post_headers

#: Every table a hostile request could make a node write to.
TABLES: Mapping[str, Any] = {
    "InboxItem": InboxItem,
    "ActionCall": ActionCall,
    "ImpactReport": ImpactReport,
    "Contribution": Contribution,
    "Follow": Follow,
    "Participant": Participant,
    "Commitment": Commitment,
    "Delivery": Delivery,
    "OutboxActivity": OutboxActivity,
    "RemoteActor": RemoteActor,
}


@dataclass
class Target:
    """The node under attack: a chapter, and (on demand) a member with an API token."""

    node: Node
    chapter: str  # the chapter's actor id
    member: str = ""  # the member's actor id, once ``with_member`` made one
    token: str = ""  # the member's API token

    @property
    def inbox(self) -> str:
        return f"{self.chapter}/inbox"

    @property
    def shared_inbox(self) -> str:
        return f"{self.node.base_url}/inbox"

    async def with_member(self) -> Target:
        """Make the member ``bea`` (key generation is slow, so only tests that need one)."""
        if not self.member:
            created = await self.node.member("bea")
            self.member, self.token = created.actor.ap_id, created.token
        return self


@dataclass
class Honest:
    """A real, well-behaved Chapterhouse node and one of its members."""

    node: Node
    actor: LocalActor

    @property
    def actor_id(self) -> str:
        return self.actor.ap_id

    async def post(self, url: str, activity: Mapping[str, Any]) -> Reply:
        body = orjson.dumps(activity)
        signer = self.node.services.keys.rsa_signer(self.actor)
        return await send(
            url, body, signed_post_headers(url, body, key_id=signer.key_id, key=signer.private_key)
        )


async def make_target(nodes: Any, **overrides: Any) -> Target:
    node = await nodes(**overrides)
    chapter = (await node.chapter("greenpark")).actor
    return Target(node, chapter.ap_id)


async def make_honest(nodes: Any, **overrides: Any) -> Honest:
    node = await nodes(**overrides)
    return Honest(node, (await node.member("alice")).actor)


async def rows(node: Node) -> dict[str, int]:
    """How many rows each table of ``node`` holds."""
    counts = {}
    async with node.services.db.read() as session:
        for name, model in TABLES.items():
            counts[name] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    return counts


async def assert_nothing_stored(
    node: Node, before: Mapping[str, int], *, except_: Iterable[str] = ()
) -> None:
    """No table of ``node`` changed since ``before`` (apart from ``except_``)."""
    await asyncio.sleep(0)  # let anything already scheduled run first
    after = await rows(node)
    skip = set(except_)
    changed = {
        name: (before[name], after[name])
        for name in TABLES
        if name not in skip and before[name] != after[name]
    }
    assert not changed, f"rows changed (before, after): {changed}"


async def deliveries_settled(node: Node, timeout: float = 10.0) -> None:
    """Wait until every delivery ``node`` queued has been sent (or given up)."""

    async def settled() -> bool:
        async with node.services.db.read() as session:
            waiting = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.state == PENDING)
            )
        return not waiting

    await eventually(settled, timeout=timeout, what=f"{node.base_url} to finish its deliveries")


async def assert_serves_honest(target: Target, honest: Honest) -> None:
    """The next honest, signed request is accepted (202), stored exactly once and handled:
    the Follow is answered with an Accept that reaches the honest node."""
    before = await rows(target.node)
    accepted_from = len(honest.node.hits)
    follow = build_follow(honest.node.services.activity_id(), honest.actor_id, target.chapter)
    reply = await honest.post(target.inbox, follow)
    assert reply.status == 202, f"an honest Follow was refused: {reply.status} {reply.problem}"
    after = await rows(target.node)
    assert after["InboxItem"] == before["InboxItem"] + 1

    async def accepted() -> bool:
        return any(
            h.method == "POST" and h.path.endswith("/inbox") and h.status == 202
            for h in honest.node.hits[accepted_from:]
        )

    await eventually(accepted, timeout=10, what="the target to send its Accept to the honest node")
    await deliveries_settled(target.node)


def no_key_fetch(server: Any) -> None:
    """The hostile server was not asked for anything (no key or actor fetch)."""
    assert server.gets() == [], f"the node fetched {server.gets()} from the hostile server"


def only_fetched(server: Any, *paths: str) -> None:
    """The node fetched nothing from the server but ``paths`` (e.g. the signer's own key)."""
    extra = sorted(set(server.gets()) - set(paths))
    assert not extra, f"the node fetched {extra} from the hostile server"
