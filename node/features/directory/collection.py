"""This node's directory as an ActivityStreams ``OrderedCollection`` (served at ``/directory``),
and the tolerant reading of another node's.

Each item is the public part of a ``Group`` actor: the same ``location``/``tag``/
``knowsLanguage``/``areaServed`` fields as the actor document (``protocol.chapter_profile``),
plus ``chapterhouse:kind`` (chapter or campaign), ``chapterhouse:followerCount`` and, for a
campaign, ``chapterhouse:memberChapters`` (the ids of its member chapters on any node): a peer
that reads one campaign's directory learns where its members are, and reads their directories
in the same refresh.

Reading a peer's directory, a node only believes what that peer may say: every item must be
an actor of the peer's own origin, or the whole directory is refused and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from node.features.actors.chapter_profile import stored_profile
from node.features.actors.local import tag_base
from node.features.directory.local import campaign_members, follower_counts, public_groups
from node.runtime.services import Services
from protocol.chapter_profile import parse_chapter_profile, profile_fields
from protocol.errors import N_, MalformedDocument, WordedError
from protocol.ids import origin_of
from protocol.jsonld import CONTEXT
from storage.models.states import ActorKind

PATH: Final = "/directory"
KIND: Final = "chapterhouse:kind"
FOLLOWERS: Final = "chapterhouse:followerCount"
MEMBERS: Final = "chapterhouse:memberChapters"
#: Caps on what one item may carry, in our directory and in what we read.
MAX_SUMMARY: Final = 2000
MAX_TITLE: Final = 300
MAX_NAME: Final = 256
MAX_URL: Final = 2048
MAX_MEMBERS: Final = 1000
COLLECTION_TYPES: Final = frozenset({"OrderedCollection", "Collection"})


class DirectoryRefused(MalformedDocument, WordedError):
    """A peer's directory (or a node) this node will not read: a ``MalformedDocument``, as the
    refresh expects, worded with its data."""


def _cut(value: object, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value.strip() else None


async def directory_document(services: Services) -> dict[str, object]:
    """Our public chapters and campaigns, with their places, topics, languages, followers."""
    async with services.db.read() as session:
        actors = await public_groups(session)
        counts = await follower_counts(session, [a.ap_id for a in actors])
        campaigns = [a.ap_id for a in actors if a.kind == ActorKind.CAMPAIGN]
        members = await campaign_members(session, campaigns)
    base = tag_base(services.ids)
    items: list[dict[str, object]] = []
    for actor in actors:
        item: dict[str, object] = {
            "id": actor.ap_id,
            "type": actor.actor_type,
            KIND: actor.kind,
            "preferredUsername": actor.name,
            "url": actor.ap_id,
            FOLLOWERS: counts.get(actor.ap_id, 0),
        }
        if actor.title:
            item["name"] = actor.title[:MAX_TITLE]
        if actor.summary:
            item["summary"] = actor.summary[:MAX_SUMMARY]
        item.update(profile_fields(stored_profile(actor), tag_base=base))
        if actor.kind == ActorKind.CAMPAIGN:
            item[MEMBERS] = members.get(actor.ap_id, [])[:MAX_MEMBERS]
        items.append(item)
    return {
        "@context": CONTEXT,
        "id": services.ids.url(PATH.lstrip("/")),
        "type": "OrderedCollection",
        "totalItems": len(items),
        "orderedItems": items,
    }


# -- reading a peer's directory ------------------------------------------------------------
@dataclass
class ReadDirectory:
    """What a peer's directory says: its entries (actor id -> entry values, for the index)
    and the origins it points at (campaigns' members elsewhere)."""

    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    origins: set[str] = field(default_factory=set)
    dropped: int = 0  # items refused one by one (blocked actors, beyond the cap)


def _origin(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_URL:
        return None
    try:
        return str(origin_of(value))
    except MalformedDocument:
        return None


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value < 2**31 else None


def read_item(item: Mapping[str, Any], origin: str) -> tuple[str, dict[str, Any]]:
    """One item's entry values (tolerant about its fields); raises MalformedDocument when
    the item is not an actor of ``origin``."""
    actor_id = item.get("id")
    if _origin(actor_id) != origin:
        raise DirectoryRefused(
            N_("item {item!r} is not an actor of {origin}"),
            item=str(actor_id)[:200],
            origin=origin,
        )
    assert isinstance(actor_id, str)
    kind = item.get(KIND)
    if kind not in {ActorKind.CHAPTER, ActorKind.CAMPAIGN}:
        kind = ActorKind.CHAPTER
    profile = parse_chapter_profile(item)
    place = profile.place
    url = item.get("url")
    if not isinstance(url, str) or _origin(url) is None:
        url = actor_id
    values: dict[str, Any] = {
        "kind": str(kind),
        "name": _cut(item.get("preferredUsername"), MAX_NAME),
        "title": _cut(item.get("name"), MAX_TITLE),
        "summary": _cut(item.get("summary"), MAX_SUMMARY),
        "url": url,
        "place_name": place.name if place else None,
        "address": place.address if place else None,
        "latitude": place.latitude if place else None,
        "longitude": place.longitude if place else None,
        "radius_km": profile.radius_km,
        "topics": list(profile.topics) or None,
        "languages": list(profile.languages) or None,
        "followers": _count(item.get(FOLLOWERS)),
        "origin": origin,
        "local": False,
    }
    return actor_id, values


def read_directory(
    doc: object, origin: str, *, max_entries: int, refused: Any = None
) -> ReadDirectory:
    """A peer's directory, read: raises MalformedDocument for anything but a collection of
    that peer's own actors (nothing of it is then stored). ``refused(actor_id)`` names the
    actors to drop (blocked ones)."""
    if not isinstance(doc, Mapping):
        raise DirectoryRefused(N_("the directory is not a JSON object"))
    if doc.get("type") not in COLLECTION_TYPES:
        raise DirectoryRefused(
            N_("the directory's type is {kind!r}"), kind=str(doc.get("type"))[:50]
        )
    items = doc.get("orderedItems", doc.get("items", []))
    if not isinstance(items, list):
        raise DirectoryRefused(N_("the directory's items are not a list"))
    read = ReadDirectory()
    for item in items:
        if not isinstance(item, Mapping):
            raise DirectoryRefused(N_("a directory item is not an object"))
        actor_id, values = read_item(item, origin)
        members = item.get(MEMBERS)
        if isinstance(members, list):
            for member in members[:MAX_MEMBERS]:
                member_origin = _origin(member)
                if member_origin is not None and member_origin != origin:
                    read.origins.add(member_origin)
        if (refused is not None and refused(actor_id)) or len(read.entries) >= max_entries:
            read.dropped += 1
            continue
        read.entries[actor_id] = values
    return read
