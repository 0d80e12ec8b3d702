"""Who came to one of our calls: organisers check participants in (and undo it), add walk-ins
by name or as a count, and the count pre-fills the impact report.

Attendance is the organisers' business alone: every function here that reads or changes who
came requires an organiser of the call's chapter (``require_organiser``), and nothing but
``came`` (a number) ever leaves them: the past call's page ("N came") and the report's
``participants`` metric (method ``counted``).

``came`` is everyone checked in (participants, and members who checked themselves in with
the call's code; node/features/calls/checkin_code.py) plus the walk-ins named by the
organisers plus the anonymous walk-in count.

People are named as organisers know them: a local name (``mia``), a handle (``@mia@host``)
or an actor IRI, resolved against the call's participants (and the people already checked
in, so a check-in can be undone). A name that matches nobody, or more than one person, is an
error naming what was meant, and nothing of the command is recorded (one transaction).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.authz import NotFoundError, Principal, require_organiser
from node.features.actors.names import Person, display_names
from node.features.calls.lifecycle import call_from_row
from node.runtime.services import Services
from protocol.errors import N_, WordedError
from protocol.events import CANCELLED, ActionCall
from protocol.impact import Measure
from protocol.timefmt import format_xsd_datetime
from storage.models import ActionCall as CallRow
from storage.models import LocalActor
from storage.models.states import PlaceState
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import attendance as attendance_repo

MAX_WALK_INS: Final = 10_000  # anonymous walk-ins added (or taken back) at once
MAX_NAME: Final = 200  # characters of a walk-in's name (the column's size)
MAX_PEOPLE: Final = 500  # people named in one check-in


class AttendanceError(WordedError):
    """The attendance cannot be recorded as asked; the message says why, in the organiser's
    language on the check-in page (raised with an ``N_`` wording and its data as params)."""


@dataclass(frozen=True, slots=True)
class Tally:
    """How many came, and how that count is made up."""

    checked_in: int  # participants and members checked in
    named: int  # walk-ins given by name
    walk_ins: int  # walk-ins counted without a name

    @property
    def came(self) -> int:
        return self.checked_in + self.named + self.walk_ins

    def describe(self) -> str:
        return (
            f"{self.came} came: {self.checked_in} checked in, {self.named} named walk-ins, "
            f"{self.walk_ins} more walk-ins"
        )


@dataclass(frozen=True, slots=True)
class Change:
    """What one item of a check-in did: ``changed`` False when it was already so."""

    who: str
    what: str  # "checked in", "check-in undone", "walk-in added", "walk-in removed"
    changed: bool = True


@dataclass(frozen=True, slots=True)
class Recorded:
    changes: tuple[Change, ...]
    tally: Tally


@dataclass(frozen=True, slots=True)
class SheetEntry:
    person: Person
    checked_in: bool
    waitlisted: bool = False


@dataclass(frozen=True, slots=True)
class SheetGroup:
    """The people of one slot (``name`` None: the call as a whole, or no slot)."""

    name: str | None
    entries: list[SheetEntry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Sheet:
    """The check-in page of a call: its participants by slot, the walk-ins and the count."""

    call: ActionCall
    groups: list[SheetGroup]
    named_walk_ins: list[tuple[int, str]]  # (row id, name), for the undo buttons
    tally: Tally
    code: str | None


# -- reading a call as its organiser ---------------------------------------------------------


async def organised_call(
    session: AsyncSession, who: Principal, call_id: str, *, lock: bool = False
) -> tuple[CallRow, LocalActor]:
    row = await action_repo.call_by_ap_id(session, call_id, for_update=lock)
    if row is None or row.local_actor_id is None:
        raise NotFoundError(N_("no action call {id} on this node"), id=call_id)
    chapter = await session.get(LocalActor, row.local_actor_id)
    assert chapter is not None
    await require_organiser(session, who, chapter)
    return row, chapter


async def _tally(session: AsyncSession, row: CallRow) -> Tally:
    rows = await attendance_repo.attendance_of(session, row.id)
    return Tally(
        checked_in=sum(1 for r in rows if r.actor is not None),
        named=sum(1 for r in rows if r.actor is None),
        walk_ins=await attendance_repo.walk_in_count(session, row.id),
    )


# -- naming people -----------------------------------------------------------------------------


def clean_name(text: str) -> str:
    """A walk-in's name as given: one line, no control characters, at most ``MAX_NAME``."""
    kept = "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch)[0] != "C")
    name = " ".join(kept.split())
    if not name:
        raise AttendanceError(
            N_("a walk-in's name is empty: give the name they gave, or count them")
        )
    if len(name) > MAX_NAME:
        raise AttendanceError(
            N_("a walk-in's name is longer than {limit} characters"), limit=MAX_NAME
        )
    return name


def _user_of(handle: str | None) -> str | None:
    return handle.lstrip("@").split("@", 1)[0].lower() if handle else None


async def _resolve(
    session: AsyncSession, row: CallRow, tokens: Sequence[str]
) -> list[tuple[str, Person]]:
    """Each of ``tokens`` as the actor it names among the call's participants (or the people
    checked in): an IRI, ``@user@host`` (or ``user@host``), or a name (a local member's, or a
    handle's user part when only one person has it)."""
    participants = await action_repo.participants(session, row.id)
    attended = await attendance_repo.attendance_of(session, row.id)
    iris = [p.actor for p in participants] + [a.actor for a in attended if a.actor]
    people = await display_names(session, iris)
    found: list[tuple[str, Person]] = []
    for raw in tokens:
        token = raw.strip()
        iri = await _match(session, token, people)
        found.append((iri, people[iri]))
    return found


async def _match(session: AsyncSession, token: str, people: dict[str, Person]) -> str:
    if not token:
        raise AttendanceError(N_("an empty name: give a participant's name, @user@host or IRI"))
    if token in people:  # an actor IRI
        return token
    lowered = token.lower()
    if "@" in lowered.lstrip("@"):  # a handle
        handle = "@" + lowered.lstrip("@")
        for iri, person in people.items():
            if person.handle and person.handle.lower() == handle:
                return iri
    elif not lowered.startswith(("http://", "https://")):
        local = await actor_repo.local_actor_by_name(session, lowered.lstrip("@"))
        if local is not None and local.ap_id in people:
            return local.ap_id
        same = [iri for iri, p in people.items() if _user_of(p.handle) == lowered.lstrip("@")]
        if len(same) > 1:
            handles = ", ".join(sorted(str(people[i].handle) for i in same))
            raise AttendanceError(
                N_("{token!r} could be any of {handles}: give the full handle"),
                token=token,
                handles=handles,
            )
        if same:
            return same[0]
    raise AttendanceError(
        N_(
            "{token!r} is not a participant of this action call: give a participant's local name, "
            "@user@host or actor IRI (someone who came without an RSVP is a walk-in)"
        ),
        token=token,
    )


# -- recording ---------------------------------------------------------------------------------


def _walk_in_count(walk_ins: object) -> int:
    if isinstance(walk_ins, bool) or not isinstance(walk_ins, int) or walk_ins < 0:
        raise AttendanceError(N_("the walk-in count must be a whole number, 0 or more"))
    if walk_ins > MAX_WALK_INS:
        raise AttendanceError(N_("at most {limit} walk-ins at once"), limit=MAX_WALK_INS)
    return walk_ins


async def record_attendance(
    services: Services,
    who: Principal,
    call_id: str,
    *,
    people: Sequence[str] = (),
    names: Sequence[str] = (),
    walk_ins: int = 0,
    undo: bool = False,
) -> Recorded:
    """Check ``people`` in (or, with ``undo``, take their check-ins back), add the walk-ins
    ``names`` and ``walk_ins`` (or take them back), all or nothing; returns what changed and
    the count now. Checking someone in twice changes nothing and is no error."""
    if len(people) + len(names) > MAX_PEOPLE:
        raise AttendanceError(N_("at most {limit} people at once"), limit=MAX_PEOPLE)
    count = _walk_in_count(walk_ins)
    shown_names = [clean_name(n) for n in names]
    now = services.clock.now()
    changes: list[Change] = []
    async with services.db.write() as session:
        row, _ = await organised_call(session, who, call_id, lock=True)
        if row.status == CANCELLED and not undo:
            raise AttendanceError(N_("the action call is cancelled: nobody can be checked in"))
        resolved = await _resolve(session, row, people)
        places = {p.actor: p for p in await action_repo.participants(session, row.id)}
        for iri, person in resolved:
            if undo:
                done = await attendance_repo.undo_check_in(session, row.id, iri)
                changes.append(Change(person.name, "check-in undone", done))
            else:
                place = places.get(iri)
                done = await attendance_repo.check_in(
                    session,
                    row.id,
                    iri,
                    slot=place.slot if place is not None else None,
                    recorded_by=who.actor.ap_id,
                    now=now,
                )
                changes.append(Change(person.name, "checked in", done))
        for name in shown_names:
            if not undo:
                await attendance_repo.add_named_walk_in(
                    session, row.id, name, recorded_by=who.actor.ap_id, now=now
                )
                changes.append(Change(name, "walk-in added"))
            elif await attendance_repo.remove_named_walk_in(session, row.id, name):
                changes.append(Change(name, "walk-in removed"))
            else:
                raise AttendanceError(N_("no walk-in named {name!r} to take back"), name=name)
        if count:
            now_count = await attendance_repo.add_walk_ins(
                session, row.id, -count if undo else count
            )
            if now_count is None:
                raise AttendanceError(
                    N_("fewer than {count} walk-ins were counted: cannot take back"), count=count
                )
            what = "walk-ins taken back" if undo else "walk-ins added"
            changes.append(Change(str(count), what))
        tally = await _tally(session, row)
    return Recorded(tuple(changes), tally)


async def remove_walk_in(services: Services, who: Principal, call_id: str, row_id: int) -> Tally:
    """Take back one named walk-in (by its row: two walk-ins may share a name)."""
    async with services.db.write() as session:
        row, _ = await organised_call(session, who, call_id, lock=True)
        if not await attendance_repo.remove_walk_in_row(session, row.id, row_id):
            raise AttendanceError(N_("that walk-in is not recorded for this action call"))
        return await _tally(session, row)


# -- reading -----------------------------------------------------------------------------------


async def tally_of(services: Services, who: Principal, call_id: str) -> Tally:
    """The count so far (organisers only)."""
    async with services.db.read() as session:
        row, _ = await organised_call(session, who, call_id)
        return await _tally(session, row)


async def came_count(services: Services, call_id: str) -> int | None:
    """How many came to ``call_id``, for everyone (only the number is public); None when no
    attendance was recorded."""
    async with services.db.read() as session:
        return await attendance_repo.came_by_ap_id(session, call_id)


async def attendance_measure(services: Services, who: Principal, call_id: str) -> Measure:
    """``participants=N:people``, counted: the report's number from the check-ins."""
    tally = await tally_of(services, who, call_id)
    if not tally.came:
        raise AttendanceError(
            N_(
                "no attendance is recorded for {call}: check people in first, or give the "
                "participants number yourself"
            ),
            call=call_id,
        )
    return Measure("participants", "people", Decimal(tally.came), "counted")


async def attendance_sheet(services: Services, who: Principal, call_id: str) -> Sheet:
    """Everything the check-in page shows: the participants grouped by slot (in the call's
    slot order, by name within one), who is checked in, the walk-ins, the count, the code."""
    async with services.db.read() as session:
        row, _ = await organised_call(session, who, call_id)
        call = call_from_row(row, services)
        participants = await action_repo.participants(session, row.id)
        attended = await attendance_repo.attendance_of(session, row.id)
        here = {a.actor: a for a in attended if a.actor}
        people = await display_names(session, [p.actor for p in participants] + list(here))
        tally = await _tally(session, row)
        code = row.checkin_code
    groups = {s.id: SheetGroup(s.name) for s in call.slots}
    rest = SheetGroup("Other participants" if call.slots else None)
    for p in participants:
        entry = SheetEntry(people[p.actor], p.actor in here, p.state == PlaceState.WAITLISTED)
        groups.get(p.slot or "", rest).entries.append(entry)
    listed = {p.actor for p in participants}
    walked = SheetGroup("Checked in without an RSVP")
    walked.entries.extend(SheetEntry(people[a], True) for a in here if a not in listed)
    shown = [*groups.values(), rest, walked]
    for g in shown:
        g.entries.sort(key=lambda e: e.person.name.casefold())
    named = [(a.id, a.name or "") for a in attended if a.actor is None]
    return Sheet(call, [g for g in shown if g.entries], named, tally, code)


async def attendance_document(
    services: Services, who: Principal, call_id: str
) -> dict[str, object]:
    """Who came, as the JSON API gives it to organisers: the count and its parts, everyone
    recorded (participants by actor, walk-ins by name) and the check-in code."""
    async with services.db.read() as session:
        row, _ = await organised_call(session, who, call_id)
        attended = await attendance_repo.attendance_of(session, row.id)
        people = await display_names(session, [a.actor for a in attended if a.actor])
        tally = await _tally(session, row)
        code = row.checkin_code
    return {
        "call": row.ap_id,
        "came": tally.came,
        "checked_in": tally.checked_in,
        "named_walk_ins": tally.named,
        "walk_ins": tally.walk_ins,
        "checkin_code": code,
        "attendees": [
            {
                "actor": a.actor,
                "name": people[a.actor].name if a.actor else a.name,
                "slot": a.slot,
                "recorded_at": format_xsd_datetime(a.created_at),
            }
            for a in attended
        ],
    }
