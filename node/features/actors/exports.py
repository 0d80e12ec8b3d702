"""Exports: a call's participants and a chapter's reports as CSV (for its organisers), and all
of a member's data as JSON (their right to data portability).

CSV cells are written by the ``csv`` module (quoting is its business) and guarded against
formula injection: a spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return as a formula, and names, handles and metric names come from strangers, so
such a cell gets a leading apostrophe (the OWASP advice), which spreadsheets show as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from node.features.actors.authz import (
    NotFoundError,
    Principal,
    local_chapter,
    require_organiser,
)
from node.features.actors.names import display_names
from node.features.calls.lifecycle import call_from_row
from node.runtime.services import Services
from protocol.errors import N_, ProtocolError
from protocol.impact import parse_report
from protocol.localtime import local_iso
from protocol.timefmt import format_xsd_datetime
from storage.repositories import actions as action_repo
from storage.repositories import exports as export_repo
from storage.repositories import moves as move_repo

#: What a spreadsheet reads as the start of a formula (OWASP "CSV Injection").
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")

PARTICIPANT_COLUMNS: Final = (
    "name",
    "handle",
    "actor",
    "state",
    "slot",
    "attended",
    "rsvp_time",
)
REPORT_COLUMNS: Final = (
    "report",
    "call",
    "call_title",
    "date",
    "metric",
    "value",
    "unit",
    "method",
    "status",
)


def safe_cell(value: object) -> str:
    """``value`` as CSV text that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buffer.getvalue()


def _when(value: datetime | None) -> str | None:
    return None if value is None else format_xsd_datetime(value)


async def participants_csv(services: Services, who: Principal, chapter_name: str, ulid: str) -> str:
    """One call's participants (accepted, then waitlisted, in the order they came), with their
    slot, whether they came, and when they answered, in the call's time zone."""
    call_id = services.ids.actor_part(chapter_name, f"actions/{ulid}")
    async with services.db.read() as session:
        chapter = await local_chapter(session, chapter_name)
        await require_organiser(session, who, chapter)
        row = await action_repo.call_by_ap_id(session, call_id)
        if row is None or row.local_actor_id != chapter.id:
            raise NotFoundError(N_("no call {id} on this node"), id=call_id)
        people = await action_repo.participants(session, row.id)
        came = {a.actor for a in await export_repo.attendance_of_call(session, row.id) if a.actor}
        names = await display_names(session, [p.actor for p in people])
    call = call_from_row(row, services)
    slots = {s.id: s.name for s in call.slots}
    ordered = sorted(people, key=lambda p: (p.state != "accepted", p.id))
    rows = []
    for p in ordered:
        person = names.get(p.actor)
        rows.append(
            (
                person.name if person is not None else p.actor,
                person.handle if person is not None else None,
                p.actor,
                p.state,
                slots.get(p.slot or "", p.slot) if p.slot else None,
                "yes" if p.actor in came else "no",
                local_iso(p.created_at, call.timezone),
            )
        )
    return to_csv(PARTICIPANT_COLUMNS, rows)


async def reports_csv(services: Services, who: Principal, chapter_name: str) -> str:
    """The chapter's reports, one line per metric (a spreadsheet sums a column, not a list)."""
    async with services.db.read() as session:
        chapter = await local_chapter(session, chapter_name)
        await require_organiser(session, who, chapter)
        reports = await move_repo.reports_of(session, chapter.ap_id)
        calls = {c.ap_id: c.title for c in await move_repo.calls_of(session, chapter.id)}
    rows: list[tuple[object, ...]] = []
    allow_http = services.settings.allow_http
    for row in reports:
        try:
            report = parse_report(row.document, allow_http=allow_http)
        except ProtocolError:
            continue
        status = "retracted" if row.retracted else "live"
        date = _when(report.updated or report.published)
        rows.extend(
            (
                row.ap_id,
                row.call,
                calls.get(row.call),
                date,
                m.metric,
                m.value,
                m.unit,
                m.method,
                status,
            )
            for m in report.measures
        )
    return to_csv(REPORT_COLUMNS, rows)


async def member_data(services: Services, who: Principal) -> dict[str, Any]:
    """Everything this node holds about the member ``who`` (never their password hash, tokens
    or keys: those are credentials, not data about them)."""
    member = who.actor
    async with services.db.read() as session:
        rows = await export_repo.member_rows(session, member)
    return {
        "format": "chapterhouse-member-data",
        "version": 1,
        "exported_at": _when(services.clock.now()),
        "node": services.settings.base_url,
        "profile": {
            "id": member.ap_id,
            "name": member.name,
            "handle": f"@{member.name}@{services.ids.authority}",
            "display_name": member.title,
            "summary": member.summary,
            "email": member.email,
            "language": member.language,
            "show_commitments": member.show_commitments,
            "reminders": member.reminders,
            "role": who.role,
            "created_at": _when(member.created_at),
        },
        "memberships": [
            {
                "chapter": c.ap_id,
                "name": c.name,
                "role": m.role,
                "active": m.active,
                "since": _when(m.created_at),
            }
            for m, c in rows.memberships
        ],
        "following": [
            {"actor": f.target, "state": f.state, "since": _when(f.created_at)}
            for f in rows.follows
            if f.follower == member.ap_id
        ],
        "followers": [
            {"actor": f.follower, "state": f.state, "since": _when(f.created_at)}
            for f in rows.follows
            if f.target == member.ap_id
        ],
        "commitments": [
            {
                "call": c.call,
                "chapter": c.chapter,
                "state": c.state,
                "reason": c.reason,
                "created_at": _when(c.created_at),
                "updated_at": _when(c.updated_at),
            }
            for c in rows.commitments
        ],
        "participations": [
            {
                "call": call.ap_id,
                "title": call.title,
                "state": p.state,
                "slot": p.slot,
                "since": _when(p.created_at),
            }
            for p, call in rows.participations
        ],
        "attendance": [
            {"call": call.ap_id, "title": call.title, "slot": a.slot, "at": _when(a.created_at)}
            for a, call in rows.attendance
        ],
        "poll_votes": [
            {"call": call.ap_id, "choice": v.choice, "at": _when(v.updated_at)}
            for v, call in rows.votes
        ],
        "notifications": [
            {
                "kind": n.kind,
                "call": n.call,
                "data": n.data,
                "created_at": _when(n.created_at),
                "read_at": _when(n.read_at),
            }
            for n in rows.notifications
        ],
        "reports": [
            {
                "targets": f.targets,
                "comment": f.comment,
                "state": f.state,
                "created_at": _when(f.created_at),
                "resolution": f.resolution,
            }
            for f in rows.flags
        ],
    }
