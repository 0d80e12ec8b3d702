"""What a campaign leaves out of its totals, and who its members are.

Organisers exclude a report or a whole chapter with a reason; blocking a member chapter
excludes it too. Exclusions never delete anything: the report stays, uncounted, and the signed
rollup lists it with its reason and hash, so ``verify`` shows what was left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.authz import NotFoundError, Principal, local_chapter, require_organiser
from node.features.impact.aggregation import set_excluded
from node.runtime.services import Services
from protocol.errors import N_, MalformedDocument, WordedError
from protocol.ids import authority_of, parse_id
from storage.models import LocalActor
from storage.models.states import ActorKind, FollowState
from storage.repositories import actors as actor_repo
from storage.repositories import exclusions as exclusion_repo
from storage.repositories import follows as follow_repo
from storage.repositories import impact as impact_repo

BLOCKED = "blocked by the campaign's node"


class ExclusionRefused(WordedError):
    """An exclusion that cannot be made as asked (no reason, no address, nothing to include);
    worded for the catalogues (``ChapterhouseError.spoken``)."""


class AlreadyExcluded(ExclusionRefused):
    """The target is excluded already; its first reason stands (lift it to give another)."""


@dataclass(frozen=True, slots=True)
class Member:
    chapter: str
    state: str  # pending, accepted, excluded

    def as_json(self) -> dict[str, str]:
        return {"chapter": self.chapter, "state": self.state}


async def _campaign(session: AsyncSession, name: str) -> LocalActor:
    campaign = await local_chapter(session, name)
    if campaign.kind != ActorKind.CAMPAIGN:
        raise NotFoundError(N_("{name} is a chapter, not a campaign"), name=name)
    return campaign


async def exclude(
    services: Services, who: Principal, campaign_name: str, target: str, reason: str
) -> int:
    """Leave a report or a chapter (``target``, an IRI) out of the campaign's totals; returns
    how many counted reports it took out."""
    if not reason.strip():
        raise ExclusionRefused(N_("say why: an exclusion is published with its reason"))
    try:
        iri = parse_id(target.strip(), allow_http=services.settings.allow_http)
    except MalformedDocument as exc:
        raise ExclusionRefused(
            N_("name the report or chapter by its address: {reason}"), reason=str(exc)
        ) from exc
    async with services.db.write() as session:
        campaign = await _campaign(session, campaign_name)
        await require_organiser(session, who, campaign)
        existing = await exclusion_repo.reason_for(session, campaign.id, iri, iri)
        if existing is not None:
            raise AlreadyExcluded(
                N_("{target} is already excluded, because: {reason}"), target=iri, reason=existing
            )
        return await exclude_in(session, campaign, iri, reason.strip(), services.clock.now())


async def exclude_in(
    session: AsyncSession, campaign: LocalActor, target: str, reason: str, now: datetime
) -> int:
    await impact_repo.lock_state(session, campaign.id)
    await exclusion_repo.add(session, campaign.id, target, reason, now)
    rows = await impact_repo.contributions_matching(session, campaign.id, target)
    moved = await set_excluded(session, campaign, rows, reason)
    await impact_repo.mark_dirty(session, campaign.id)  # the rollup lists the exclusion
    return moved


async def include(services: Services, who: Principal, campaign_name: str, target: str) -> int:
    """Undo an exclusion; returns how many reports count again."""
    async with services.db.write() as session:
        campaign = await _campaign(session, campaign_name)
        await require_organiser(session, who, campaign)
        await impact_repo.lock_state(session, campaign.id)
        if not await exclusion_repo.remove(session, campaign.id, target.strip()):
            raise ExclusionRefused(
                N_("{target} is not excluded from {campaign}"),
                target=target,
                campaign=campaign_name,
            )
        rows = await impact_repo.contributions_matching(session, campaign.id, target.strip())
        moved = await set_excluded(session, campaign, rows, None)
        await impact_repo.mark_dirty(session, campaign.id)
        return moved


async def exclude_blocked(session: AsyncSession, blocked: str, now: datetime) -> int:
    """A block: every campaign of ours leaves the blocked chapter (or every chapter of the
    blocked domain) out of its totals."""
    moved = 0
    for campaign in await actor_repo.local_actors(session, [ActorKind.CAMPAIGN]):
        members = await follow_repo.follower_ids(session, campaign.ap_id)
        chapters = {c for c in members if c == blocked or authority_of(c) == blocked}
        chapters |= {
            c.chapter
            for c in await impact_repo.live_contributions(session, campaign.id)
            if c.chapter == blocked or authority_of(c.chapter) == blocked
        }
        for chapter in sorted(chapters):
            moved += await exclude_in(session, campaign, chapter, BLOCKED, now)
    return moved


async def include_unblocked(session: AsyncSession, unblocked: str) -> int:
    """An unblock: the exclusions the block made (and only those) are lifted."""
    moved = 0
    for campaign in await actor_repo.local_actors(session, [ActorKind.CAMPAIGN]):
        for exclusion in await exclusion_repo.of_campaign(session, campaign.id):
            target = exclusion.target
            if exclusion.reason != BLOCKED or (
                target != unblocked and authority_of(target) != unblocked
            ):
                continue
            await exclusion_repo.remove(session, campaign.id, target)
            rows = await impact_repo.contributions_matching(session, campaign.id, target)
            moved += await set_excluded(session, campaign, rows, None)
            await impact_repo.mark_dirty(session, campaign.id)
    return moved


async def members(services: Services, campaign_name: str) -> list[Member]:
    """The chapters that asked to join: pending, accepted, or excluded from the totals."""
    async with services.db.read() as session:
        campaign = await _campaign(session, campaign_name)
        excluded = {e.target for e in await exclusion_repo.of_campaign(session, campaign.id)}
        rows = await follow_repo.followers_with_state(session, campaign.ap_id)
        groups = set(await actor_repo.group_actor_ids(session, [f for f, _ in rows]))
    out = []
    for follower, state in rows:
        if state == FollowState.REJECTED or follower not in groups:
            continue  # people who follow the campaign are its audience, not its members
        accepted = state == FollowState.ACCEPTED
        out.append(Member(follower, "excluded" if accepted and follower in excluded else state))
    return out


@dataclass(frozen=True, slots=True)
class Exclusion:
    """One exclusion as the campaign's page lists it: public, as the signed rollup is."""

    target: str
    reason: str
    created_at: datetime
    name: str | None  # the chapter's name, or "a report by <chapter>", where one is known


async def list_exclusions(services: Services, campaign_name: str) -> list[Exclusion]:
    """What the campaign leaves out of its totals, oldest first, each with its reason."""
    async with services.db.read() as session:
        campaign = await _campaign(session, campaign_name)
        out = []
        for row in await exclusion_repo.of_campaign(session, campaign.id):
            name = await _name(session, row.target)
            if name is None:
                rows = await impact_repo.contributions_matching(session, campaign.id, row.target)
                reports = [c for c in rows if c.report == row.target]
                if reports:
                    chapter = reports[0].chapter
                    name = f"a report by {await _name(session, chapter) or authority_of(chapter)}"
            out.append(Exclusion(row.target, row.reason, row.created_at, name))
    return out


async def known_names(services: Services, iris: list[str]) -> dict[str, str]:
    """The names of the actors among ``iris`` that this node knows (local or cached)."""
    async with services.db.read() as session:
        found = {iri: await _name(session, iri) for iri in dict.fromkeys(iris)}
    return {iri: name for iri, name in found.items() if name is not None}


async def _name(session: AsyncSession, iri: str) -> str | None:
    local = await actor_repo.local_actor_by_ap_id(session, iri)
    if local is not None:
        return local.title or local.name
    remote = await actor_repo.remote_actor(session, iri)
    if remote is None:
        return None
    shown = remote.document.get("name") if isinstance(remote.document, dict) else None
    if isinstance(shown, str) and shown.strip():
        return shown.strip()[:100]
    return f"{remote.preferred_username}@{remote.host}" if remote.preferred_username else None
