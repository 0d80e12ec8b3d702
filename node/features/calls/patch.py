"""Applying what an organiser gave (a create or a patch) to an action call.

One rule for every interface (CLI, API ``PATCH``, web form): a field not given keeps its value,
``null`` removes it, and nothing else changes. ``--address`` alone changes the address and
keeps the place's name and coordinates; a new place keeps the online link; ``set_targets``
and ``remove_targets`` touch only the metrics they name.

Times: a time with an offset is an exact instant; if a zone is given with it, the offset must
agree with that zone (else both readings are in the error). A time without an offset is read as
the wall clock in the zone given, else the call's zone, else the chapter's zone; with none of
them it is refused. Changing only the zone keeps the instants and shows them in the new zone.

Slots (:func:`apply_slots`): ``slots`` replaces them all; a slot with the same role and times
as one the call has keeps that one's id (a Join may name it), a new one takes the next number
no slot or participant uses. A call moved whole (start and end by the same amount) takes its
slots with it, so a rescheduled call keeps its slots, their ids and their people (given again,
``10:00-12:00`` on the new date is the same slot). A call with slots takes its capacity from
them (their sum), so a capacity given with slots is refused. A slot that people have taken
may not go, nor shrink below them; slots kept while the call is resized must still lie
within it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from datetime import UTC, datetime

from node.features.calls.input import ActionInput, FieldError, check_times, merge_place
from node.features.calls.slot_input import PlacedSlot, place_slots
from protocol.errors import N_, MalformedDocument
from protocol.events import MAX_TARGETS, ActionCall, Target
from protocol.localtime import WallTime, format_span, in_zone, resolve_wall_time
from protocol.slots import Slot, slot_id

#: A time with neither offset nor zone: what to give instead.
NO_ZONE = N_(
    "{time} has no UTC offset and no time zone is known: give a time zone (such as "
    "Europe/London) or a UTC offset (such as +01:00), or set the chapter's time zone "
    "(chapterhouse chapter update NAME --timezone ZONE)"
)


def _instant(field: str, time: WallTime, given_zone: str | None, zone: str | None) -> datetime:
    """``time`` as an instant shown in ``zone`` (see the module's rule)."""
    if time.offset is None and zone is None:
        raise FieldError(field, NO_ZONE, time=time.text)
    try:
        resolved = resolve_wall_time(time, given_zone if time.offset is not None else zone)
    except MalformedDocument as exc:
        raise FieldError.about(field, exc) from exc
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
                "remove_targets",
                N_("the call has no target {metric}:{unit} (its targets: {have})"),
                metric=metric,
                unit=unit,
                have=have,
            )
        targets = kept
    if len(targets) > MAX_TARGETS:
        raise FieldError("targets", N_("a call has at most {limit} targets"), limit=MAX_TARGETS)
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
    if data.language is not None:
        changes["language"] = data.language
    for given, cleared, attr in (
        (data.title_map, "titleMap", "title_map"),
        (data.description_map, "descriptionMap", "content_map"),
    ):
        if given is not None:
            changes[attr] = dict(given)
        elif cleared in data.cleared:
            changes[attr] = {}
    language = changes.get("language", call.language)
    for attr in ("title_map", "content_map"):  # the call's own language is its title/content
        current = changes.get(attr, getattr(call, attr))
        if isinstance(current, Mapping) and language in current:
            changes[attr] = {k: v for k, v in current.items() if k != language}
    return dataclasses.replace(call, **changes)  # type: ignore[arg-type]


def apply_input(call: ActionCall, data: ActionInput, chapter_zone: str | None) -> ActionCall:
    """``call`` after the patch ``data``."""
    start, end, zone = call_times(data, call, chapter_zone)
    return apply_fields(dataclasses.replace(call, start=start, end=end, timezone=zone), data)


def _slot_number(call_id: str, ident: str) -> int:
    """N of ``{call_id}#slot-N`` (0 for any other id)."""
    prefix = f"{call_id}#slot-"
    tail = ident[len(prefix) :] if ident.startswith(prefix) else ""
    return int(tail) if tail.isdecimal() else 0


def _with_ids(
    call: ActionCall,
    old: tuple[Slot, ...],
    placed: tuple[PlacedSlot, ...],
    reserved: Collection[str],
) -> tuple[Slot, ...]:
    """Ids for ``placed``: a slot's own when the call has one (``old``) with the same role
    and times, else the next number that neither a slot of the call nor a participant uses."""
    known = {(s.name, s.start.astimezone(UTC), s.end.astimezone(UTC)): s.id for s in old}
    numbers = [_slot_number(call.id, i) for i in (*(s.id for s in old), *reserved)]
    following = max(numbers, default=0) + 1
    out = []
    for p in placed:
        ident = known.get((p.name, p.start.astimezone(UTC), p.end.astimezone(UTC)))
        if ident is None:
            ident, following = slot_id(call.id, following), following + 1
        out.append(Slot(ident, p.name, p.start, p.end, p.capacity))
    return tuple(out)


def _describe(slot: Slot, zone: str | None) -> str:
    return f"{slot.name} ({format_span(slot.start, slot.end, zone)})"


def _within(start: datetime, end: datetime, call: ActionCall) -> bool:
    """In UTC (two times of one zone compare as wall clocks, blind to a repeated hour)."""
    utc = [t.astimezone(UTC) for t in (call.start, start, end, call.end)]
    return utc == sorted(utc)


def _moved_with(call: ActionCall, previous: ActionCall | None) -> tuple[Slot, ...]:
    """The call's slots, moved as the call was when it moved whole (same length)."""
    if previous is None:
        return call.slots
    # In UTC: Python subtracts two times of the same zone as wall clocks (DST ignored).
    shift = call.start.astimezone(UTC) - previous.start.astimezone(UTC)
    if not shift or call.end.astimezone(UTC) - previous.end.astimezone(UTC) != shift:
        return call.slots
    return tuple(
        dataclasses.replace(
            s,
            start=in_zone(s.start.astimezone(UTC) + shift, call.timezone),
            end=in_zone(s.end.astimezone(UTC) + shift, call.timezone),
        )
        for s in call.slots
    )


def apply_slots(
    call: ActionCall,
    data: ActionInput,
    *,
    taken: Mapping[str, int],
    reserved: Collection[str] = (),
    previous: ActionCall | None = None,
) -> ActionCall:
    """``call`` (with its new times and the slots it had) after ``data``'s slots (see the
    module's rule). ``taken`` counts the people holding a place in each slot (by id);
    ``reserved`` are the slot ids participants name, which a new slot must not reuse;
    ``previous`` is the call before this change (None for a new call)."""
    zone = call.timezone
    old = _moved_with(call, previous)
    if data.slots:
        placed = place_slots(
            data.slots, start=call.start, end=call.end, zone=zone, given_zone=data.timezone
        )
        slots = _with_ids(call, old, placed, reserved)
    elif data.slots is not None or "slots" in data.cleared:
        slots = ()
    else:
        slots = old
        for s in slots:
            if not _within(s.start, s.end, call):
                raise FieldError(
                    "slots",
                    N_(
                        "the slot {slot} would not be within the call's new times ({call}): "
                        "give the slots again or remove them"
                    ),
                    slot=_describe(s, zone),
                    call=format_span(call.start, call.end, zone),
                )
    slots = tuple(dataclasses.replace(s, taken=taken.get(s.id, 0)) for s in slots)
    kept = {s.id for s in slots}
    for gone in old:
        people = taken.get(gone.id, 0)
        if gone.id not in kept and people:
            raise FieldError(
                "slots",
                N_(
                    "1 person has taken the slot {slot}: it cannot be removed or changed "
                    "(keep its role and times)"
                )
                if people == 1
                else N_(
                    "{count} people have taken the slot {slot}: it cannot be removed or "
                    "changed (keep its role and times)"
                ),
                count=people,
                slot=_describe(gone, zone),
            )
    for s in slots:
        if s.capacity < s.taken:
            raise FieldError(
                "slots",
                N_(
                    "the slot {slot} cannot take only {capacity}: {taken} people have already taken it"
                ),
                slot=_describe(s, zone),
                capacity=s.capacity,
                taken=s.taken,
            )
    if not slots:
        return dataclasses.replace(call, slots=())
    if data.capacity is not None:
        raise FieldError(
            "capacity",
            N_(
                "a call with slots takes its capacity from them (the sum of the slots' "
                "capacities): leave capacity out and set each slot's capacity"
            ),
        )
    return dataclasses.replace(call, slots=slots, capacity=sum(s.capacity for s in slots))
