"""Which fields of an adopted call follow its campaign's call: decided per field, no I/O.

The state is kept in ``action_calls.adoption`` (JSON) as::

    {"changed": [fields the chapter changed],
     "upstream": {field: the campaign call's value as last seen},
     "conflicts": {field: the campaign call's newer value, where the chapter changed it too}}

No interface records a chapter's edit here: a field counts as changed by the chapter when its
local value differs from the upstream value last seen. So a chapter that sets its title back
to the campaign's follows the campaign again, and every way of editing (CLI, API, web) counts.
When the campaign's call changes a field, ``merge`` takes the new value where the chapter left
the field alone, keeps the chapter's value where both already agree, and otherwise records a
conflict for the organisers to settle (``settle``): keep ours, or take theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from node.features.calls.input import sanitize_html
from protocol.events import ActionCall

#: The fields an adopted call follows (time is start and end together: moving one without
#: the other could put the end before the start).
FIELDS: Final = ("title", "time", "description")
LABELS: Final = {"title": "title", "time": "time", "description": "description"}

Choice = Literal["ours", "theirs"]


def values_of(call: ActionCall) -> dict[str, Any]:
    """A call's followed fields, as the state stores them (JSON)."""
    return {
        "title": call.title,
        "time": {
            "start": call.start.isoformat(timespec="seconds"),
            "end": call.end.isoformat(timespec="seconds"),
        },
        "description": call.content,
    }


def initial_state(campaign_call: ActionCall) -> dict[str, Any]:
    """The state of a call just adopted: nothing changed yet, the campaign's values seen."""
    return {"changed": [], "upstream": values_of(campaign_call), "conflicts": {}}


def _instants(value: object) -> tuple[datetime, datetime] | None:
    if not isinstance(value, Mapping):
        return None
    try:
        return (
            datetime.fromisoformat(str(value.get("start"))),
            datetime.fromisoformat(str(value.get("end"))),
        )
    except ValueError:
        return None


def same(name: str, a: object, b: object) -> bool:
    """Whether two values of a field mean the same: times as instants (an offset written
    differently is the same time), text as people read it (HTML cleaned, ends trimmed)."""
    if name == "time":
        return _instants(a) == _instants(b) and _instants(a) is not None
    if not isinstance(a, str) or not isinstance(b, str):
        return a == b
    if name == "description":
        return sanitize_html(a).strip() == sanitize_html(b).strip()
    return a.strip() == b.strip()


@dataclass(frozen=True, slots=True)
class Merge:
    """What an upstream change does to one adopted call."""

    apply: dict[str, Any] = field(default_factory=dict)  # field → value to take now
    state: dict[str, Any] = field(default_factory=dict)  # the new stored state
    new_conflicts: tuple[str, ...] = ()  # fields newly (or newly again) in conflict


def _state(stored: object, local: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(upstream last seen, conflicts) of a stored state; a call without one counts as
    unchanged by the chapter (its values are taken as the upstream ones last seen)."""
    if not isinstance(stored, Mapping):
        return dict(local), {}
    upstream = stored.get("upstream")
    conflicts = stored.get("conflicts")
    seen = dict(upstream) if isinstance(upstream, Mapping) else {}
    return (
        {name: seen.get(name, local[name]) for name in FIELDS},
        dict(conflicts) if isinstance(conflicts, Mapping) else {},
    )


def _finish(
    local: Mapping[str, Any], upstream: Mapping[str, Any], conflicts: dict[str, Any]
) -> dict[str, Any]:
    """The stored state, with conflicts the chapter has meanwhile settled by editing dropped."""
    for name in list(conflicts):
        if name not in FIELDS or same(name, local[name], conflicts[name]):
            del conflicts[name]
    changed = [name for name in FIELDS if not same(name, local[name], upstream[name])]
    return {"changed": changed, "upstream": dict(upstream), "conflicts": conflicts}


def merge(stored: object, local: Mapping[str, Any], upstream: Mapping[str, Any]) -> Merge:
    """The campaign's call now has ``upstream`` values; the chapter's call has ``local``."""
    seen, conflicts = _state(stored, local)
    apply: dict[str, Any] = {}
    fresh: list[str] = []
    for name in FIELDS:
        if same(name, upstream[name], seen[name]):
            continue  # the campaign left it alone: nothing to follow (a conflict stands)
        if same(name, local[name], seen[name]):
            apply[name] = upstream[name]  # only the campaign changed it: follow
            conflicts.pop(name, None)
        elif same(name, local[name], upstream[name]):
            conflicts.pop(name, None)  # both made the same change
        else:
            conflicts[name] = upstream[name]  # both changed it, differently: ask
            fresh.append(name)
    after = {**local, **apply}
    return Merge(apply, _finish(after, upstream, conflicts), tuple(fresh))


def settle(stored: object, local: Mapping[str, Any], name: str, choice: Choice) -> Merge:
    """The organisers' choice on one conflict: keep the chapter's value, or take the
    campaign's. ``KeyError`` when the field is not in conflict."""
    seen, conflicts = _state(stored, local)
    theirs = conflicts.pop(name)  # KeyError: nothing to settle
    apply = {name: theirs} if choice == "theirs" else {}
    after = {**local, **apply}
    return Merge(apply, _finish(after, seen, conflicts))


def conflicts_of(stored: object) -> dict[str, Any]:
    """The fields in conflict and the campaign's values for them (for the call's page)."""
    if not isinstance(stored, Mapping):
        return {}
    conflicts = stored.get("conflicts")
    if not isinstance(conflicts, Mapping):
        return {}
    return {k: v for k, v in conflicts.items() if k in FIELDS}
