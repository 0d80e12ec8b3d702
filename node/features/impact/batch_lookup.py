"""What a batch of reports needs to know before any is counted, in a few set-based queries.

The same rules as ``membership.py`` (calls and their campaign links upwards, our campaigns among
them, who follows whom), answered for a whole batch: one ``SELECT ... IN`` per level of the call
chain (with the campaign actor holding each call joined in), one for the follows, one for
"followed by someone here". None of this changes while a batch of reports is counted, so it is
read once per batch. Each statement is built once per shape and, on SQLite's inline
connection, run as plain sqlite3 (``batch_updates.rows_of``): a one-report batch (the inbox
worker's) costs its few index searches, not SQLAlchemy's statement building.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, and_, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from node.features.impact.membership import MAX_CHAIN
from storage.models import ActionCall, Follow, LocalActor
from storage.models.follow import ACCEPTED
from storage.models.states import ActorKind
from storage.repositories.batch_updates import in_list, listed, rows_of, sized

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


def _link_columns(dialect: str) -> tuple[Any, Any]:
    """The call document's ``chapterhouse:campaign`` member and its JSON type, read by the
    database (``json_extract`` / ``->>``) so that a batch never loads and parses whole call
    documents for one link."""
    if dialect == "postgresql":
        member = cast(ActionCall.document, JSONB)["chapterhouse:campaign"]
        return member.astext, func.jsonb_typeof(member)
    path = '$."chapterhouse:campaign"'
    return func.json_extract(ActionCall.document, path), func.json_type(ActionCall.document, path)


def _calls_stmt(dialect: str, size: int) -> Executable:
    """Calls by id, with the campaign that holds each (a local campaign actor), if any."""
    link, kind = _link_columns(dialect)
    return (
        select(
            ActionCall.ap_id,
            ActionCall.chapter,
            ActionCall.start_time,
            ActionCall.local_actor_id,
            link,
            kind,
            LocalActor.ap_id,
        )
        .outerjoin(
            LocalActor,
            and_(
                LocalActor.id == ActionCall.local_actor_id,
                LocalActor.kind == ActorKind.CAMPAIGN,
            ),
        )
        .where(in_list(ActionCall.ap_id, "a", size))
    )


def _accepted_stmt(dialect: str, followers: int, targets: int) -> Executable:
    return select(Follow.follower, Follow.target).where(
        in_list(Follow.follower, "f", followers),
        in_list(Follow.target, "t", targets),
        Follow.state == ACCEPTED,
    )


def _followed_stmt(dialect: str, size: int) -> Executable:
    return (
        select(Follow.target)
        .where(
            in_list(Follow.target, "a", size),
            Follow.state == ACCEPTED,
            Follow.follower.in_(select(LocalActor.ap_id)),
        )
        .distinct()
    )


async def _load_calls(session: AsyncSession, lookup: Lookup, ids: Collection[str]) -> set[str]:
    """Load these calls (and the campaigns holding them); the calls they link to."""
    links: set[str] = set()
    for chunk in chunks(ids):
        size = sized(len(chunk))
        rows = await rows_of(session, _calls_stmt, (size,), listed("a", chunk, size))
        for ap_id, chapter, start, local_id, campaign, campaign_kind, owner in rows:
            text = campaign if campaign_kind in {"text", "string"} else None  # a string, or none
            lookup.calls[ap_id] = CallInfo(ap_id, chapter, start, local_id, text)
            if owner is not None:
                lookup.campaigns[local_id] = Campaign(local_id, owner)
            if text is not None:
                links.add(text)
    return links


async def load(session: AsyncSession, wanted: Sequence[tuple[str, str, str | None]]) -> Lookup:
    """Everything ``Lookup`` answers for these (chapter, call, via campaign) triples."""
    lookup = Lookup({}, {}, set(), set())
    frontier = {call for _, call, _ in wanted}
    for _ in range(MAX_CHAIN):
        missing = frontier - lookup.calls.keys()
        if not missing:
            break
        frontier = await _load_calls(session, lookup, missing)
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
            shape = (sized(len(follower_chunk)), sized(len(target_chunk)))
            params = listed("f", follower_chunk, shape[0]) | listed("t", target_chunk, shape[1])
            pairs = await rows_of(session, _accepted_stmt, shape, params)
            lookup.accepted.update((str(f), str(t)) for f, t in pairs)
    return lookup


async def load_followed_here(
    session: AsyncSession, lookup: Lookup, actors: Collection[str]
) -> None:
    """Which of ``actors`` someone on this node follows (accepted): their reports are kept
    even when they count toward none of our campaigns."""
    for chunk in chunks(set(actors) - lookup.followed_here):
        size = sized(len(chunk))
        rows = await rows_of(session, _followed_stmt, (size,), listed("a", chunk, size))
        lookup.followed_here.update(target for (target,) in rows)
