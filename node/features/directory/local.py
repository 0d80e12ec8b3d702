"""This node's own chapters and campaigns in the directory: read from ``local_actors``, and
copied into the index (``local`` entries) so that one text index serves every search.

The copy is brought up to date before each search and each refresh, writing only what
changed: a search on a quiet node reads and writes nothing more than a comparison.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.runtime.services import Services
from protocol.ids import origin_of
from storage.models import Follow, LocalActor
from storage.models.follow import ACCEPTED
from storage.models.states import GROUP_KINDS
from storage.repositories import directory as directory_repo


def _strings(value: object) -> list[str] | None:
    if not isinstance(value, list) or not value:
        return None
    return [str(v) for v in value]


async def public_groups(session: AsyncSession) -> list[LocalActor]:
    """The chapters and campaigns the directory lists (a chapter that moved away is not)."""
    rows = await session.scalars(
        select(LocalActor)
        .where(LocalActor.kind.in_(sorted(GROUP_KINDS)), LocalActor.moved_to.is_(None))
        .order_by(LocalActor.id)
    )
    return list(rows)


async def follower_counts(session: AsyncSession, targets: list[str]) -> dict[str, int]:
    if not targets:
        return {}
    rows = await session.execute(
        select(Follow.target, func.count())
        .where(Follow.target.in_(targets), Follow.state == ACCEPTED)
        .group_by(Follow.target)
    )
    return {target: int(n) for target, n in rows}


async def campaign_members(session: AsyncSession, campaigns: list[str]) -> dict[str, list[str]]:
    """The accepted followers of our campaigns that are chapters (``Group`` actors, local or
    remote): a campaign's members, which the directory names so peers can find them."""
    from storage.models import RemoteActor

    if not campaigns:
        return {}
    groups = select(RemoteActor.ap_id).where(RemoteActor.actor_type == "Group")
    local = select(LocalActor.ap_id).where(LocalActor.kind.in_(sorted(GROUP_KINDS)))
    rows = await session.execute(
        select(Follow.target, Follow.follower)
        .where(
            Follow.target.in_(campaigns),
            Follow.state == ACCEPTED,
            Follow.follower.in_(groups.union(local).scalar_subquery()),
        )
        .order_by(Follow.id)
    )
    members: dict[str, list[str]] = {}
    for target, follower in rows:
        members.setdefault(target, []).append(follower)
    return members


def entry_values(actor: LocalActor, followers: int, url: str) -> dict[str, Any]:
    return {
        "kind": actor.kind,
        "name": actor.name,
        "title": actor.title,
        "summary": actor.summary,
        "url": url,
        "place_name": actor.place_name,
        "address": actor.address,
        "latitude": actor.latitude,
        "longitude": actor.longitude,
        "radius_km": actor.radius_km,
        "topics": _strings(actor.topics),
        "languages": _strings(actor.languages),
        "followers": followers,
        "origin": str(origin_of(actor.ap_id)),
        "local": True,
    }


async def sync_local_entries(services: Services) -> None:
    """Bring the index's copy of our chapters and campaigns up to date (writes only changes)."""
    async with services.db.read() as session:
        actors = await public_groups(session)
        counts = await follower_counts(session, [a.ap_id for a in actors])
        held = await directory_repo.local_entries(session)
    wanted = {a.ap_id: entry_values(a, counts.get(a.ap_id, 0), a.ap_id) for a in actors}
    changed = {
        actor_id: values
        for actor_id, values in wanted.items()
        if actor_id not in held or directory_repo.differs(held[actor_id], values)
    }
    gone = [actor_id for actor_id in held if actor_id not in wanted]
    if not changed and not gone:
        return
    async with services.db.write() as session:
        await directory_repo.put_entries(session, changed, now=services.clock.now())
        await directory_repo.remove_entries(session, gone)
