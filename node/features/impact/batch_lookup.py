"""What a batch of reports needs to know before any is counted, in a few set-based queries.

The same rules as ``membership.py`` (calls and their campaign links upwards, our campaigns among
them, who follows whom), answered for a whole batch: one ``SELECT ... IN`` per level of the call
chain, one for the campaigns' actors, one for the follows, one for "followed by someone here".
None of this changes while a batch of reports is counted, so it is read once per batch.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from node.features.impact.membership import MAX_CHAIN
from storage.models import ActionCall, Follow, LocalActor
from storage.models.follow import ACCEPTED
from storage.models.states import ActorKind

CHUNK = 400


def chunks(items: Collection[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    ordered = sorted(items)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


@dataclass(frozen=True, slots=True)
class CallInfo:
    ap_id: str
    chapter: str
    start_time: datetime
    local_actor_id: int | None
    link: str | None  # the campaign call it adopts (``chapterhouse:campaign``)


@dataclass(frozen=True, slots=True)
class Campaign:
    """One of our campaigns, as counting needs it."""

    id: int
    ap_id: str


@dataclass
class Lookup:
    calls: dict[str, CallInfo]
    campaigns: dict[int, Campaign]  # local actor id → campaign (only campaigns)
    accepted: set[tuple[str, str]]  # (follower, target), accepted
    followed_here: set[str]  # actors someone on this node follows (accepted)

    def chain(self, call_id: str) -> list[CallInfo]:
        """``membership.call_chain``, from what was loaded."""
        chain: list[CallInfo] = []
        seen: set[str] = set()
        current: str | None = call_id
        while current is not None and current not in seen and len(seen) < MAX_CHAIN:
            seen.add(current)
            row = self.calls.get(current)
            if row is None:
                break
            chain.append(row)
            current = row.link
        return chain

    def reached(self, call_id: str) -> list[tuple[Campaign, list[str]]]:
        """``membership._reached``: our campaigns up the chain, with the owners below each."""
        chain = self.chain(call_id)
        out: list[tuple[Campaign, list[str]]] = []
        for index, row in enumerate(chain[1:], start=1):
            if row.local_actor_id is None:
                continue
            owner = self.campaigns.get(row.local_actor_id)
            if owner is not None and owner.ap_id == row.chapter:
                out.append((owner, [r.chapter for r in chain[1:index]]))
        return out

    def counting(self, chapter: str, call_id: str, via_campaign: str | None) -> list[Campaign]:
        """``membership.counting_campaigns``, from what was loaded."""
        found: list[Campaign] = []
        for campaign, below in self.reached(call_id):
            if via_campaign is None:
                allowed = (chapter, campaign.ap_id) in self.accepted
            else:
                allowed = (
                    via_campaign in below
                    and (via_campaign, campaign.ap_id) in self.accepted
                    and (campaign.ap_id, via_campaign) in self.accepted
                )
            if allowed:
                found.append(campaign)
        return found


def _link_columns(session: AsyncSession) -> tuple[Any, Any]:
    """The call document's ``chapterhouse:campaign`` member and its JSON type, read by the
    database (``json_extract`` / ``->>``) so that a batch never loads and parses whole call
    documents for one link."""
    if session.get_bind().dialect.name == "postgresql":
        member = cast(ActionCall.document, JSONB)["chapterhouse:campaign"]
        return member.astext, func.jsonb_typeof(member)
    path = '$."chapterhouse:campaign"'
    return func.json_extract(ActionCall.document, path), func.json_type(ActionCall.document, path)


async def _load_calls(session: AsyncSession, ids: Collection[str]) -> list[CallInfo]:
    out: list[CallInfo] = []
    link, kind = _link_columns(session)
    for chunk in chunks(ids):
        rows = await session.execute(
            select(
                ActionCall.ap_id,
                ActionCall.chapter,
                ActionCall.start_time,
                ActionCall.local_actor_id,
                link,
                kind,
            ).where(ActionCall.ap_id.in_(chunk))
        )
        for ap_id, chapter, start, local_id, campaign, campaign_kind in rows:
            text = campaign if campaign_kind in {"text", "string"} else None  # a string, or none
            out.append(CallInfo(ap_id, chapter, start, local_id, text))
    return out


async def load(session: AsyncSession, wanted: Sequence[tuple[str, str, str | None]]) -> Lookup:
    """Everything ``Lookup`` answers for these (chapter, call, via campaign) triples."""
    lookup = Lookup({}, {}, set(), set())
    frontier = {call for _, call, _ in wanted}
    for _ in range(MAX_CHAIN):
        missing = frontier - lookup.calls.keys()
        if not missing:
            break
        frontier = set()
        for info in await _load_calls(session, missing):
            lookup.calls[info.ap_id] = info
            if info.link is not None:
                frontier.add(info.link)
    owners = {c.local_actor_id for c in lookup.calls.values() if c.local_actor_id is not None}
    for chunk in chunks(owners):
        rows = await session.execute(
            select(LocalActor.id, LocalActor.ap_id).where(
                LocalActor.id.in_(chunk), LocalActor.kind == ActorKind.CAMPAIGN
            )
        )
        for actor_id, ap_id in rows:
            lookup.campaigns[actor_id] = Campaign(actor_id, ap_id)
    followers: set[str] = set()
    targets: set[str] = set()
    for chapter, call, via in {(c, k, v) for c, k, v in wanted}:
        for campaign, _ in lookup.reached(call):
            if via is None:
                followers.add(chapter)
                targets.add(campaign.ap_id)
            else:
                followers.update((via, campaign.ap_id))
                targets.update((campaign.ap_id, via))
    for follower_chunk in chunks(followers):
        for target_chunk in chunks(targets):
            pairs = await session.execute(
                select(Follow.follower, Follow.target).where(
                    Follow.follower.in_(follower_chunk),
                    Follow.target.in_(target_chunk),
                    Follow.state == ACCEPTED,
                )
            )
            lookup.accepted.update((str(f), str(t)) for f, t in pairs)
    return lookup


async def load_followed_here(
    session: AsyncSession, lookup: Lookup, actors: Collection[str]
) -> None:
    """Which of ``actors`` someone on this node follows (accepted): their reports are kept
    even when they count toward none of our campaigns."""
    locals_ = select(LocalActor.ap_id)
    for chunk in chunks(set(actors) - lookup.followed_here):
        rows = await session.scalars(
            select(Follow.target)
            .where(Follow.target.in_(chunk), Follow.state == ACCEPTED, Follow.follower.in_(locals_))
            .distinct()
        )
        lookup.followed_here.update(rows)
