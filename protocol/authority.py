"""Who may say what: key owner = actor, and identity claims on the actor's origin."""

from __future__ import annotations

from collections.abc import Mapping

from protocol.activities import Activity
from protocol.errors import AuthorityError, MalformedDocument
from protocol.ids import Origin, origin_of
from protocol.jsonld import id_of
from protocol.vocabulary import types_of


def key_owner_is_actor(key_owner: str, activity: Activity) -> None:
    """The signature's key must belong to the activity's actor."""
    if key_owner != activity.actor:
        raise AuthorityError(
            f"signed by a key of {key_owner}, but the activity's actor is {activity.actor}"
        )


def same_origin_claims(activity: Activity) -> None:
    """The activity's id and any embedded object id/attributedTo share the actor's origin.

    Embedded objects of Accept/Reject/Undo are the *recipient's* or actor's own activities
    and are checked by their handlers against stored state, so only ids minted by the
    actor (the activity id and, for Create/Update, the object) are compared here.
    """
    home = _origin_or_none(activity.actor)
    if home is None or _origin_or_none(activity.id) != home:
        raise AuthorityError(
            f"activity id {activity.id} is not on the origin of its actor {activity.actor}"
        )
    if (
        activity.type in {"Update", "Delete"}
        and activity.object_id is not None
        and _origin_or_none(activity.object_id) != home
    ):
        raise AuthorityError(
            f"{activity.actor} does not own {activity.object_id} (it is on another origin)"
        )
    if activity.type in {"Create", "Update"} and isinstance(activity.object, (dict, Mapping)):
        obj_id = id_of(activity.object)
        if obj_id is not None and _origin_or_none(obj_id) != home:
            raise AuthorityError(f"object {obj_id} is not on the origin of {activity.actor}")
        attributed = id_of(activity.object.get("attributedTo"))
        if attributed is not None and _origin_or_none(attributed) != home:
            raise AuthorityError(
                f"attributedTo {attributed} is not on the origin of {activity.actor}"
            )


def _origin_or_none(value: str) -> Origin | None:
    """As :func:`protocol.ids.same_origin` compares: a malformed URL matches nothing."""
    try:
        return origin_of(value)
    except MalformedDocument:
        return None


ACTOR_TYPES = frozenset({"Person", "Group", "Organization", "Service", "Application"})


def attribution_is_actor(activity: Activity) -> None:
    """Create/Update may only carry objects the actor itself is credited with (or itself).

    ``type`` may be a list, so every rule applies when its type is *among* the object's types:
    an ``["Event"]`` or ``["Event", "Note"]`` must name its chapter like a plain ``Event``. Only
    an object that is nothing but an actor (every type it declares is an actor type) skips the
    attribution rules, which are about content.
    """
    if activity.type not in {"Create", "Update"} or not isinstance(
        activity.object, (dict, Mapping)
    ):
        return
    obj = activity.object
    types = types_of(obj)
    if types & ACTOR_TYPES:
        if activity.type == "Update" and id_of(obj) != activity.actor:
            raise AuthorityError(f"{activity.actor} cannot update another actor ({id_of(obj)})")
        if types <= ACTOR_TYPES:
            return
    attributed = id_of(obj.get("attributedTo"))
    if attributed is not None and attributed != activity.actor:
        raise AuthorityError(
            f"the {activity.object_type} is attributed to {attributed}, "
            f"not to the sender {activity.actor}"
        )
    if attributed is None and "Event" in types:
        raise AuthorityError("an Event must name the chapter it belongs to (attributedTo)")
