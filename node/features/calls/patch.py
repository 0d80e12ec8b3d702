"""Applying what an organiser gave (a create or a patch) to an action call.

One rule for every interface (CLI, API ``PATCH``, web form): a field not given keeps its value,
``null`` removes it, and nothing else changes. ``--address`` alone changes the address and
keeps the place's name and coordinates; a new place keeps the online link; ``set_targets``
and ``remove_targets`` touch only the metrics they name.

Times: a time with an offset is an exact instant; if a zone is given with it, the offset must
agree with that zone (else both readings are in the error). A time without an offset is read as
the wall clock in the zone given, else the call's zone, else the chapter's zone; with none of
them it is refused. Changing only the zone keeps the instants and shows them in the new zone.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from node.features.calls.input import ActionInput, FieldError, check_times, merge_place
from protocol.errors import MalformedDocument
from protocol.events import MAX_TARGETS, ActionCall, Target
from protocol.localtime import WallTime, in_zone, resolve_wall_time

NO_ZONE_HINT = (
    "give a time zone (such as Europe/London) or a UTC offset (such as +01:00), or set the "
    "chapter's time zone (chapterhouse chapter update NAME --timezone ZONE)"
)


def _instant(field: str, time: WallTime, given_zone: str | None, zone: str | None) -> datetime:
    """``time`` as an instant shown in ``zone`` (see the module's rule)."""
    if time.offset is None and zone is None:
        raise FieldError(
            field, f"{time.text} has no UTC offset and no time zone is known: {NO_ZONE_HINT}"
        )
    try:
        resolved = resolve_wall_time(time, given_zone if time.offset is not None else zone)
    except MalformedDocument as exc:
        raise FieldError(field, str(exc)) from exc
    return in_zone(resolved, zone)


def call_times(
    data: ActionInput, current: ActionCall | None, chapter_zone: str | None
) -> tuple[datetime, datetime, str | None]:
    """The call's start, end and zone after ``data`` (``current`` is None for a new call)."""
    zone = data.timezone or (current.timezone if current else None)
    wall_clock = any(t is not None and t.offset is None for t in (data.start, data.end))
    if zone is None and wall_clock:
        zone = chapter_zone  # the wall-clock time is read in the chapter's zone, and shown so
    if zone is None and current is None:
        zone = chapter_zone  # a new call is shown in its chapter's zone
    if data.start is not None:
        start = _instant("start", data.start, data.timezone, zone)
    else:
        assert current is not None, "a new call has a start"
        start = in_zone(current.start, zone)
    if data.end is not None:
        end = _instant("end", data.end, data.timezone, zone)
    else:
        assert current is not None, "a new call has an end"
        end = in_zone(current.end, zone)
    check_times(start, end)
    return start, end, zone


def _targets(call: ActionCall, data: ActionInput) -> tuple[Target, ...]:
    targets = list(call.targets) if data.targets is None else list(data.targets)
    if "targets" in data.cleared:
        targets = []
    for new in data.set_targets:
        same = [i for i, t in enumerate(targets) if (t.metric, t.unit) == (new.metric, new.unit)]
        if same:
            targets[same[0]] = new
        else:
            targets.append(new)
    for metric, unit in data.remove_targets:
        kept = [t for t in targets if (t.metric, t.unit) != (metric, unit)]
        if len(kept) == len(targets):
            have = ", ".join(f"{t.metric}:{t.unit}" for t in targets) or "none"
            raise FieldError(
                "remove_targets", f"the call has no target {metric}:{unit} (its targets: {have})"
            )
        targets = kept
    if len(targets) > MAX_TARGETS:
        raise FieldError("targets", f"a call has at most {MAX_TARGETS} targets")
    return tuple(targets)


def apply_fields(call: ActionCall, data: ActionInput) -> ActionCall:
    """Everything but the times: given fields change, ``cleared`` ones go, the rest stay."""
    changes: dict[str, object] = {}
    for name in ("title", "goal", "tags", "online_url", "capacity"):
        value = getattr(data, name)
        if value is not None:
            changes[name] = value
        elif name in data.cleared:
            changes[name] = () if name == "tags" else None
    if data.description is not None:
        changes["content"] = data.description
    elif "description" in data.cleared:
        changes["content"] = ""
    if "place" in data.cleared:
        changes["place"] = None
    elif data.place is not None:
        changes["place"] = merge_place(call.place, data.place)
    changes["targets"] = _targets(call, data)
    return dataclasses.replace(call, **changes)  # type: ignore[arg-type]


def apply_input(call: ActionCall, data: ActionInput, chapter_zone: str | None) -> ActionCall:
    """``call`` after the patch ``data``."""
    start, end, zone = call_times(data, call, chapter_zone)
    return apply_fields(dataclasses.replace(call, start=start, end=end, timezone=zone), data)
