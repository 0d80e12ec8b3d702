"""A chapter or campaign as anyone may read it: what its page and its ``Group`` actor publish.

The public JSON API (``GET /api/v1/chapters``) shows these fields and nothing else: never a
key, a password hash, an e-mail address, a member or a member's setting. The place, the area
served, the languages and the topics are published on purpose (the directory and the Group
actor's ``location`` and ``tag``), so they are here too.
"""

from __future__ import annotations

from node.features.actors.authz import local_chapter
from node.runtime.services import Services
from protocol.timefmt import format_xsd_datetime
from storage.models import LocalActor
from storage.models.states import ActorKind
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo

#: The kinds the public chapter list shows (members and the instance actor have no place there).
LISTED = [ActorKind.CHAPTER, ActorKind.CAMPAIGN]


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def chapter_json(services: Services, actor: LocalActor) -> dict[str, object]:
    """The public fields of a local chapter or campaign."""
    place = None
    if actor.place_name or actor.latitude is not None:
        place = {
            "name": actor.place_name,
            "address": actor.address,
            "latitude": actor.latitude,
            "longitude": actor.longitude,
        }
    return {
        "id": actor.ap_id,
        "name": actor.name,
        "handle": f"{actor.name}@{services.ids.authority}",
        "kind": actor.kind,
        "title": actor.title or actor.name,
        "summary": actor.summary,
        "url": actor.ap_id,
        "timezone": actor.timezone,
        "place": place,
        "radiusKm": actor.radius_km,
        "regions": _strings(actor.regions),
        "languages": _strings(actor.languages),
        "topics": _strings(actor.topics),
        "movedTo": actor.moved_to,
        "feeds": {
            "atom": f"{actor.ap_id}/feed.atom",
            "icalendar": f"{actor.ap_id}/calendar.ics",
            "outbox": services.ids.actor_part(actor.name, "outbox"),
        },
        "published": format_xsd_datetime(actor.created_at),
    }


async def public_chapters(services: Services) -> list[dict[str, object]]:
    """Every local chapter and campaign, oldest first (as the front page lists them)."""
    async with services.db.read() as session:
        actors = await actor_repo.local_actors(session, LISTED)
    return [chapter_json(services, a) for a in actors]


async def public_chapter(services: Services, name: str) -> dict[str, object]:
    """One local chapter or campaign with its follower count (its page shows it); raises
    ``NotFoundError`` for any other name (a member's name included)."""
    async with services.db.read() as session:
        actor = await local_chapter(session, name)
        followers = await follow_repo.count_followers(session, actor.ap_id)
    return {**chapter_json(services, actor), "followers": followers}
