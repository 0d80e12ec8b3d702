"""Which of our campaigns a report may count toward: membership decides, not what a call claims.

A chapter is a member of a campaign when it follows the campaign and the campaign accepted
(campaigns created with ``--approve-chapters`` hold new members pending). A report counts toward
our campaign K only when its call's ``chapterhouse:campaign`` links reach one of K's own calls,
and either

- its chapter is a member of K (it reported to us directly, or a relay carried its signed copy), or
- it came in the rollup of a campaign C that is a member of K and that K follows, and the
  report's call adopts one of C's calls on the way to K's (a regional campaign vouching for its
  own chapters).

Anything else (a stranger's ``Event`` naming our call, a chapter that never joined) counts
nowhere, whatever its signature.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ActionCall as CallRow
from storage.models import LocalActor
from storage.models.follow import ACCEPTED
from storage.models.states import ActorKind
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo

MAX_CHAIN = 4  # chapter call → regional campaign call → global campaign call → ...


async def follows_accepted(session: AsyncSession, follower: str, target: str) -> bool:
    row = await follow_repo.follow_between(session, follower, target)
    return row is not None and row.state == ACCEPTED


async def is_member(session: AsyncSession, campaign: LocalActor, chapter: str) -> bool:
    return await follows_accepted(session, chapter, campaign.ap_id)


async def member_of_any_campaign(session: AsyncSession, chapter: str) -> bool:
    """Whether ``chapter`` belongs to one of our campaigns (only then is its call fetched)."""
    for target in await follow_repo.accepted_targets(session, chapter):
        actor = await actor_repo.local_actor_by_ap_id(session, target)
        if actor is not None and actor.kind == ActorKind.CAMPAIGN:
            return True
    return False


async def call_chain(session: AsyncSession, call_id: str) -> list[CallRow]:
    """The call and the campaign calls it adopts, upwards, as far as we hold them."""
    chain: list[CallRow] = []
    seen: set[str] = set()
    current: str | None = call_id
    while current is not None and current not in seen and len(seen) < MAX_CHAIN:
        seen.add(current)
        row = await action_repo.call_by_ap_id(session, current)
        if row is None:
            break
        chain.append(row)
        link = row.document.get("chapterhouse:campaign") if isinstance(row.document, dict) else None
        current = link if isinstance(link, str) else None
    return chain


async def campaigns_reached(session: AsyncSession, call_id: str) -> list[LocalActor]:
    """Our campaigns whose calls a call's links reach (whoever may count there)."""
    return [campaign for campaign, _ in await _reached(session, call_id)]


async def counting_campaigns(
    session: AsyncSession, chapter: str, call_id: str, via_campaign: str | None = None
) -> list[LocalActor]:
    """Our campaigns that a report by ``chapter`` on ``call_id`` counts toward (module doc)."""
    found: list[LocalActor] = []
    for campaign, below in await _reached(session, call_id):
        if via_campaign is None:
            allowed = await is_member(session, campaign, chapter)
        else:
            allowed = (
                via_campaign in below
                and await is_member(session, campaign, via_campaign)
                and await follows_accepted(session, campaign.ap_id, via_campaign)
            )
        if allowed:
            found.append(campaign)
    return found


async def _reached(session: AsyncSession, call_id: str) -> list[tuple[LocalActor, list[str]]]:
    """Each campaign of ours in the chain, with the owners of the calls below its own."""
    chain = await call_chain(session, call_id)
    reached: list[tuple[LocalActor, list[str]]] = []
    for index, row in enumerate(chain[1:], start=1):
        if row.local_actor_id is None:
            continue
        owner = await session.get(LocalActor, row.local_actor_id)
        if owner is not None and owner.kind == ActorKind.CAMPAIGN and owner.ap_id == row.chapter:
            reached.append((owner, [r.chapter for r in chain[1:index]]))
    return reached
