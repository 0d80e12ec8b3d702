"""A campaign's member chapters and the calls they adopted from it, as the public sees them.

A chapter is a member when its follow of the campaign was accepted (``membership.py``); people
who follow a campaign are its audience, not members, so only groups are listed. The list is
public, as the signed rollup already names every chapter it counts: the campaign page shows it
with each chapter's place, and ``/actors/{campaign}/chapters`` serves it to other nodes, whose
directories learn chapters from it.

Chapters on blocked domains (or blocked themselves) are left out of what we show: a block means
this node does not speak for them. Places come from what this node already holds (a local
chapter's columns, a remote chapter's cached ``Group`` document); nothing is fetched here.

The map of adopted calls takes the calls of member chapters whose ``chapterhouse:campaign`` link
names one of the campaign's own calls, and only those with coordinates: a call without them is
still in the chapters' list, never guessed onto the map.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from node.features.actors.chapter_profile import stored_profile
from node.federation.admission.blocks import current_blocks
from node.runtime.services import Services
from protocol.chapter_profile import Place, parse_chapter_profile
from protocol.errors import MalformedDocument
from protocol.events import parse_event
from storage.models import LocalActor
from storage.models.follow import ACCEPTED
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo

#: Chapters a page lists (the collection pages through all of them).
MAX_LISTED = 500
#: Calls a campaign map shows.
MAX_POINTS = 500
#: The campaign's own calls whose adoptions are mapped (its latest ones).
CAMPAIGN_CALLS = 50


@dataclass(frozen=True, slots=True)
class MemberChapter:
    iri: str
    place: Place | None  # as far as this node knows it


@dataclass(frozen=True, slots=True)
class CallPoint:
    """One adopted call on the campaign's map."""

    call: str  # the call's IRI (its page)
    title: str
    chapter: str  # the IRI of the chapter that adopted it
    place_name: str
    latitude: float
    longitude: float
    start: datetime


async def member_ids(services: Services, campaign: LocalActor) -> list[str]:
    """The campaign's member chapters' IRIs, in the order they joined (blocked ones left out)."""
    async with services.db.read() as session:
        rows = await follow_repo.followers_with_state(session, campaign.ap_id)
        accepted = [follower for follower, state in rows if state == ACCEPTED]
        groups = set(await actor_repo.group_actor_ids(session, accepted))
    blocks = await current_blocks(services, now=time.monotonic())
    return [
        iri
        for iri in accepted
        if iri in groups and iri != campaign.ap_id and not blocks.refusal(iri)
    ]


async def member_chapters(
    services: Services, campaign: LocalActor, *, limit: int = MAX_LISTED
) -> list[MemberChapter]:
    """The first ``limit`` member chapters, each with its place where this node knows it."""
    found = []
    async with services.db.read() as session:
        for iri in (await member_ids(services, campaign))[:limit]:
            local = await actor_repo.local_actor_by_ap_id(session, iri)
            if local is not None:
                found.append(MemberChapter(iri, stored_profile(local).place))
                continue
            remote = await actor_repo.remote_actor(session, iri)
            document = remote.document if remote is not None else None
            place = parse_chapter_profile(document).place if isinstance(document, dict) else None
            found.append(MemberChapter(iri, place))
    return found


async def adopted_call_points(
    services: Services, campaign: LocalActor, *, allow_http: bool
) -> list[CallPoint]:
    """The member chapters' calls adopted from the campaign's calls, where they have
    coordinates: the soonest first, from the ``MAX_POINTS`` latest adoptions."""
    chapters = await member_ids(services, campaign)
    async with services.db.read() as session:
        own = [
            row.ap_id
            for row in await action_repo.recent_calls(session, campaign.ap_id, limit=CAMPAIGN_CALLS)
        ]
        rows = await action_repo.calls_naming(session, chapters[:MAX_LISTED], own, limit=MAX_POINTS)
    linked = set(own)
    points = [
        point
        for row in rows
        if isinstance(row.document, dict)
        and row.document.get("chapterhouse:campaign") in linked
        and (point := _point(row.document, allow_http)) is not None
    ]
    points.sort(key=lambda p: p.start)
    return points


def _point(doc: dict[str, object], allow_http: bool) -> CallPoint | None:
    try:
        call = parse_event(doc, allow_http=allow_http)
    except MalformedDocument:
        return None  # a stored copy we cannot read is not drawn
    place = call.place
    if call.cancelled or place is None or place.latitude is None or place.longitude is None:
        return None
    return CallPoint(
        call.id, call.title, call.chapter, place.name, place.latitude, place.longitude, call.start
    )
