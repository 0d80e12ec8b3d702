"""Activities: builders for what we send, and a strict parser for what we receive.

``parse_activity`` is where untyped inbox JSON becomes an :class:`Activity`; after it, code
reads typed fields. Unknown properties are kept in ``raw`` but never trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from protocol.errors import MalformedDocument, UnsupportedType
from protocol.ids import parse_id
from protocol.jsonld import CONTEXT, PUBLIC, as_list, id_of
from protocol.vocabulary import first_type, known_types, types_of

JsonObject = Mapping[str, object]

ACTIVITY_TYPES: Final = frozenset(
    {
        "Follow",
        "Accept",
        "Reject",
        "Undo",
        "Create",
        "Update",
        "Delete",
        "Announce",
        "Join",
        "Leave",
        "Flag",
        "Block",
        "Like",
        "Add",
        "Remove",
        "Move",
        "TentativeAccept",
        "Invite",
        "EmojiReact",
        "Question",
        "View",
    }
)
#: Activities whose object must be present (an IRI or an embedded object with an id).
NEEDS_OBJECT: Final = frozenset(
    {
        "Follow",
        "Accept",
        "Reject",
        "Undo",
        "Create",
        "Update",
        "Delete",
        "Announce",
        "Join",
        "Leave",
        "Flag",
        "Block",
        "Like",
    }
)
MAX_RECIPIENTS: Final = 1024


@dataclass(frozen=True, slots=True)
class Activity:
    """A received activity whose envelope has been validated.

    ``type`` is the one activity type it declares that we know (a ``type`` may be a list in
    AS2; an activity naming two that we know is refused as ambiguous). Rules about the embedded
    object ask ``object_types`` (every type it declares); ``object_type`` is only its first.
    """

    id: str
    type: str
    actor: str
    object_id: str | None
    object: JsonObject | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    raw: JsonObject

    @property
    def object_type(self) -> str | None:
        """The first type the embedded object declares (for logs); rules use ``object_types``."""
        return first_type(self.object)

    @property
    def object_types(self) -> frozenset[str]:
        """Every type the embedded object declares (empty without an embedded object)."""
        return types_of(self.object)


def _recipients(doc: JsonObject, key: str) -> tuple[str, ...]:
    values = as_list(doc.get(key))
    if len(values) > MAX_RECIPIENTS:
        raise MalformedDocument(f"{key} lists more than {MAX_RECIPIENTS} recipients")
    out = []
    for value in values:
        ident = id_of(value)
        if ident is not None:
            out.append(ident)
    return tuple(out)


def parse_activity(doc: object, *, allow_http: bool = False) -> Activity:
    """Validate the envelope of a received activity (id, type, actor, object)."""
    if not isinstance(doc, (dict, Mapping)):
        raise MalformedDocument("activity must be a JSON object")
    declared = doc.get("type")
    if first_type(doc) is None:
        raise MalformedDocument("activity has no type")
    known = known_types(doc, ACTIVITY_TYPES)
    if not known:
        raise UnsupportedType(f"activity type {declared!r:.200} is not supported")
    if len(known) > 1:  # rules keyed on the type would disagree about which one applies
        raise MalformedDocument(f"activity declares more than one activity type: {known}")
    kind = known[0]
    if doc.get("id") is None:
        raise MalformedDocument("activity has no id")
    activity_id = parse_id(doc.get("id"), allow_http=allow_http)
    actor_value = id_of(doc.get("actor"))
    if actor_value is None:
        raise MalformedDocument("activity has no actor")
    actor = parse_id(actor_value, allow_http=allow_http)
    raw_object = doc.get("object")
    if isinstance(raw_object, list) and kind == "Flag" and raw_object:
        raw_object = raw_object[0]  # Mastodon flags [actor, statuses...]: the first names who
    embedded: JsonObject | None = raw_object if isinstance(raw_object, (dict, Mapping)) else None
    object_id: str | None = None
    ref = id_of(raw_object)
    if ref is not None:
        object_id = parse_id(ref, allow_http=allow_http)
    elif kind in NEEDS_OBJECT:
        raise MalformedDocument(f"{kind} has no object id")
    return Activity(
        id=activity_id,
        type=kind,
        actor=actor,
        object_id=object_id,
        object=embedded,
        to=_recipients(doc, "to"),
        cc=_recipients(doc, "cc"),
        raw=doc,
    )


def _envelope(
    kind: str, activity_id: str, actor: str, obj: object, **extra: object
) -> dict[str, object]:
    doc: dict[str, object] = {
        "@context": CONTEXT,
        "id": activity_id,
        "type": kind,
        "actor": actor,
        "object": obj,
    }
    doc.update({k: v for k, v in extra.items() if v is not None})
    return doc


def _strip_context(obj: JsonObject) -> dict[str, object]:
    """Embedded objects drop their own @context, unless a proof covers it (FEP-8b32)."""
    if "proof" in obj:
        return dict(obj)
    return {k: v for k, v in obj.items() if k != "@context"}


def build_follow(activity_id: str, actor: str, target: str) -> dict[str, object]:
    """``actor`` asks to follow ``target``."""
    return _envelope("Follow", activity_id, actor, target, to=[target])


def build_accept(activity_id: str, actor: str, request: JsonObject) -> dict[str, object]:
    """Accept a Follow or Join; the request is embedded so receivers need not fetch it."""
    requester = id_of(request.get("actor"))
    return _envelope("Accept", activity_id, actor, _strip_context(request), to=[requester])


def build_reject(activity_id: str, actor: str, request: JsonObject) -> dict[str, object]:
    """Reject a Follow or Join."""
    requester = id_of(request.get("actor"))
    return _envelope("Reject", activity_id, actor, _strip_context(request), to=[requester])


def build_undo(activity_id: str, actor: str, undone: JsonObject) -> dict[str, object]:
    """Undo one of the actor's own earlier activities (embedded)."""
    if id_of(undone.get("actor")) != actor:
        raise ValueError("an actor can only undo its own activities")
    target = id_of(undone.get("object"))
    return _envelope(
        "Undo", activity_id, actor, _strip_context(undone), to=[target] if target else None
    )


def build_create(activity_id: str, actor: str, obj: JsonObject) -> dict[str, object]:
    """Create, addressed like its object."""
    return _envelope(
        "Create",
        activity_id,
        actor,
        _strip_context(obj),
        to=obj.get("to"),
        cc=obj.get("cc"),
        published=obj.get("published"),
    )


def build_update(activity_id: str, actor: str, obj: JsonObject) -> dict[str, object]:
    """Update carrying the whole new version of the object."""
    return _envelope(
        "Update", activity_id, actor, _strip_context(obj), to=obj.get("to"), cc=obj.get("cc")
    )


def build_delete(
    activity_id: str,
    actor: str,
    object_id: str,
    former_type: str,
    *,
    to: object = None,
    cc: object = None,
    deleted: str | None = None,
) -> dict[str, object]:
    """Delete, with a Tombstone standing in for the object."""
    tombstone: dict[str, object] = {"id": object_id, "type": "Tombstone", "formerType": former_type}
    if deleted is not None:
        tombstone["deleted"] = deleted
    return _envelope("Delete", activity_id, actor, tombstone, to=to, cc=cc)


def build_join(activity_id: str, actor: str, event_id: str, organiser: str) -> dict[str, object]:
    """RSVP: ``actor`` will take part in the event (Mobilizon's Join)."""
    return _envelope("Join", activity_id, actor, event_id, to=[organiser])


def build_leave(activity_id: str, actor: str, event_id: str, organiser: str) -> dict[str, object]:
    """Withdraw an RSVP (Mobilizon's Leave)."""
    return _envelope("Leave", activity_id, actor, event_id, to=[organiser])


def build_announce(
    activity_id: str, actor: str, object_id: str, *, cc: list[str] | None = None
) -> dict[str, object]:
    """Re-broadcast an object by reference (what Mastodon shows as a boost)."""
    return _envelope("Announce", activity_id, actor, object_id, to=[PUBLIC], cc=cc)
