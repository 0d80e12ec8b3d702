"""Reminders before a call starts: durable rows, scheduled ahead and sent once when due.

Every ``reminder_sweep_seconds`` the sweep (a background loop of ``serve`` or ``worker``):

1. **schedules**: for each call starting within the largest offset (plus ``LOOKAHEAD``) —
   ours, with the chapter's offsets or the node's, and calls elsewhere that one of our members
   answered, with the node's — it records the missing ``reminders`` rows for the call's
   *current* start, each due ``offset`` minutes before it. A reminder whose time had already
   passed when it was scheduled (a call created or moved three hours before its start, a
   member's RSVP the evening before) is recorded as ``skipped``: nobody is told "in 1 day" an
   hour before. ``SCHEDULE_GRACE`` keeps one that is only just due (scheduled by the sweep a
   few seconds after its time).
2. **sends** the pending rows that are due, each in its own write transaction that first
   claims the row (``pending`` → ``sent``, conditionally) and then records the notifications:
   two processes never both send one, and a crash before the commit leaves it pending. A row
   is skipped instead when its call is gone or cancelled, when the call's start has moved
   since (the new start has rows of its own), when the call has started, when the chapter no
   longer asks for that offset, or when a reminder closer to the start is due as well (after
   a long outage only the last one is worth sending).

   Who is reminded: our members with an accepted place who keep reminders on (in-app, and
   e-mail when they gave an address), and, for our calls, the remote participants holding a
   place (a direct message from the chapter). Each person once per call, offset and start
   (the notification's key), however often the sweep runs.
3. tells organisers of a report due (``organisers.py``).

Everything it knows is in rows, so it survives restarts and ``kill -9``; the loop itself
keeps nothing between sweeps.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.authz import NotFoundError
from node.features.actors.names import display_names
from node.features.notifications.kinds import Kind
from node.features.notifications.notify import notify
from node.features.notifications.organisers import tell_reports_due
from node.features.notifications.wording import call_facts
from node.runtime.config import ConfigError, reminder_offsets
from node.runtime.services import Services
from protocol.errors import N_, ProtocolError
from protocol.events import ActionCall, parse_event
from storage.models import ActionCall as CallRow
from storage.models import LocalActor, Reminder
from storage.models.states import GROUP_KINDS, PlaceState, ReminderState
from storage.repositories import actors as actor_repo
from storage.repositories import reminders as reminder_repo

log = logging.getLogger(__name__)

#: Calls are scheduled this long before their earliest reminder is due.
LOOKAHEAD: Final = timedelta(hours=1)
#: A reminder scheduled at most this long after its time is still sent (the sweep runs every
#: ``reminder_sweep_seconds``; see ``schedule_grace``).
SCHEDULE_GRACE: Final = timedelta(minutes=1)
#: Due reminders taken per read; the sweep reads again until none is left.
BATCH: Final = 100


@dataclass(frozen=True, slots=True)
class Sweep:
    """What one sweep did."""

    scheduled: int = 0  # reminder rows recorded (pending or skipped)
    sent: int = 0  # reminders sent (whoever was there to tell)
    skipped: int = 0  # due reminders not sent (cancelled, moved, started, superseded)
    told: int = 0  # notifications recorded by the reminders sent
    reports_due: int = 0  # organisers told of a report due


def node_offsets(services: Services) -> tuple[int, ...]:
    return services.settings.reminder_offsets_minutes


def chapter_offsets(services: Services, stored: object) -> tuple[int, ...]:
    """A chapter's own offsets (``local_actors.reminder_offsets``), else the node's. They were
    checked when set; a value that does not parse (edited by hand) falls back to the node's."""
    if stored is None:
        return node_offsets(services)
    try:
        return reminder_offsets(stored)
    except ConfigError:
        log.warning("reminders.bad_chapter_offsets", extra={"offsets": repr(stored)[:100]})
        return node_offsets(services)


def parse_chapter_offsets(text: str) -> tuple[int, ...] | None:
    """An organiser's offsets (``--reminder-offsets``): ``1440,120``; ``none`` (or nothing)
    for no reminders at all; ``default`` for the node's (None). ``ConfigError`` says what is
    wrong with anything else."""
    word = text.strip().lower()
    if word == "default":
        return None
    if word in {"", "none"}:
        return ()
    return reminder_offsets(text)


async def set_chapter_offsets(
    services: Services, name: str, offsets: tuple[int, ...] | None
) -> LocalActor:
    """Give the chapter ``name`` its own reminder offsets (None: the node's again). Calls
    already scheduled keep the reminders recorded for the offsets still asked for; the others
    are skipped when due (``_skip_reason``)."""
    async with services.db.write() as session:
        actor = await actor_repo.local_actor_by_name(session, name)
        if actor is None or actor.kind not in GROUP_KINDS:
            raise NotFoundError(N_("no chapter named {name!r} on this node"), name=name)
        actor.reminder_offsets = None if offsets is None else list(offsets)
    return actor


def schedule_grace(services: Services) -> timedelta:
    """How late a reminder may be scheduled and still go out: a minute, or two sweeps."""
    return max(SCHEDULE_GRACE, 2 * timedelta(seconds=services.settings.reminder_sweep_seconds))


async def schedule(services: Services, now: datetime) -> int:
    """Record the reminders of the calls starting soon that have none for their current start
    (see the module); returns how many rows were recorded."""
    async with services.db.read() as session:
        overrides = await reminder_repo.chapter_offsets(session)
        offsets = {cid: chapter_offsets(services, raw) for cid, raw in overrides.items()}
        widest = max((max(o) for o in [*offsets.values(), node_offsets(services)] if o), default=0)
        if not widest:
            return 0
        until = now + timedelta(minutes=widest) + LOOKAHEAD
        calls = await reminder_repo.upcoming_calls(session, now, until)
        have = await reminder_repo.scheduled(session, [c.id for c in calls])
    grace = schedule_grace(services)
    missing: list[dict[str, Any]] = []
    for call in calls:
        minutes = node_offsets(services)
        if call.chapter_id is not None:
            minutes = offsets.get(call.chapter_id, minutes)
        for offset in minutes:
            if (call.id, offset, call.start) in have:
                continue
            due_at = call.start - timedelta(minutes=offset)
            late = due_at < now - grace
            missing.append(
                {
                    "call_id": call.id,
                    "offset_minutes": offset,
                    "start_time": call.start,
                    "due_at": due_at,
                    "state": ReminderState.SKIPPED if late else ReminderState.PENDING,
                }
            )
    if not missing:
        return 0
    async with services.db.write() as session:
        return await reminder_repo.add_missing(session, missing)


async def _skip_reason(
    session: AsyncSession, services: Services, row: Reminder, call: CallRow | None, now: datetime
) -> str | None:
    """Why the claimed reminder ``row`` is not to be sent, or None when it is."""
    if call is None:
        return "gone"
    if call.status == "CANCELLED":
        return "cancelled"
    if call.start_time != row.start_time:
        return "moved"
    if call.start_time <= now:
        return "started"
    if call.local_actor_id is not None:
        chapter = await session.get(LocalActor, call.local_actor_id)
        wanted = chapter_offsets(services, chapter.reminder_offsets if chapter else None)
        if row.offset_minutes not in wanted:
            return "offset_dropped"
    if await reminder_repo.later_one_due(session, row, now):
        return "superseded"
    return None


def _minutes_left(services: Services, row: Reminder, now: datetime) -> int:
    """What the reminder says ("starts in ..."): its offset when sent on time, else the truth
    (a reminder sent late after an outage does not say "in 1 day" of a call 20 hours away)."""
    if now - row.due_at <= schedule_grace(services):
        return row.offset_minutes
    return max(1, math.ceil((row.start_time - now).total_seconds() / 60))


async def send_one(services: Services, reminder_id: int) -> tuple[str, int] | None:
    """Claim one due reminder and send it (or skip it) in one transaction; returns ("sent",
    people told) or ("skipped", 0), or None when another process had taken it."""
    now = services.clock.now()
    async with services.db.write() as session:
        row = await reminder_repo.claim(session, reminder_id, now)
        if row is None:
            return None
        call_row = await session.get(CallRow, row.call_id)
        reason = await _skip_reason(session, services, row, call_row, now)
        call: ActionCall | None = None
        if reason is None and call_row is not None:
            try:
                call = parse_event(call_row.document, allow_http=services.settings.allow_http)
            except ProtocolError:
                reason = "unreadable"
        if reason is not None or call is None or call_row is None:
            row.state = ReminderState.SKIPPED
            row.sent_at = None
            log.info("reminder.skipped", extra={"reminder": reminder_id, "reason": reason})
            return "skipped", 0
        told = await _remind(session, services, row, call_row, call, now)
    if told:
        services.wakeups.deliveries.set()
        services.wakeups.follow_ups.set()
    log.info("reminder.sent", extra={"reminder": reminder_id, "told": told})
    return "sent", told


async def _remind(
    session: AsyncSession,
    services: Services,
    row: Reminder,
    call_row: CallRow,
    call: ActionCall,
    now: datetime,
) -> int:
    """Record the reminder's notifications: our members with a place, and for our calls the
    remote participants holding one (a direct message from the chapter)."""
    chapter = (
        await session.get(LocalActor, call_row.local_actor_id)
        if call_row.local_actor_id is not None
        else None
    )
    name = (await display_names(session, [call.chapter]))[call.chapter].name
    data = call_facts(call, name) | {"offset_minutes": _minutes_left(services, row, now)}
    key = f"{call.id}:{row.offset_minutes}:{row.start_time.isoformat()}"
    people = await reminder_repo.members_to_remind(session, call.id)
    if chapter is not None:
        people += await reminder_repo.remote_participants(
            session, call_row.id, (PlaceState.ACCEPTED,)
        )
    told = 0
    for person in dict.fromkeys(people):
        note = await notify(
            session,
            services,
            recipient=person,
            kind=Kind.REMINDER,
            key=key,
            data=data,
            call=call.id,
            sender=chapter,
        )
        told += note is not None
    return told


async def send_due(services: Services, now: datetime) -> tuple[int, int, int]:
    """Send (or skip) every reminder due by ``now``: (sent, skipped, people told)."""
    sent = skipped = told = 0
    while True:
        async with services.db.read() as session:
            ids = await reminder_repo.due(session, now, BATCH)
        for reminder_id in ids:
            outcome = await send_one(services, reminder_id)
            if outcome is None:
                continue
            if outcome[0] == "sent":
                sent += 1
                told += outcome[1]
            else:
                skipped += 1
        if len(ids) < BATCH:
            return sent, skipped, told


async def sweep(services: Services) -> Sweep:
    """One pass: schedule, send what is due, tell organisers of reports due."""
    now = services.clock.now()
    scheduled = await schedule(services, now)
    sent, skipped, told = await send_due(services, now)
    reports = await tell_reports_due(services, now)
    return Sweep(scheduled, sent, skipped, told, reports)


async def run_reminders(services: Services) -> None:
    """The background loop (``serve``/``worker``): a sweep every ``reminder_sweep_seconds``."""
    pause = max(0.05, services.settings.reminder_sweep_seconds)
    while True:
        try:
            done = await sweep(services)
        except Exception:  # the database may be busy or briefly down: try again next time
            log.exception("reminders.sweep_failed")
        else:
            if done.scheduled or done.sent or done.skipped or done.reports_due:
                log.info(
                    "reminders.swept",
                    extra={
                        "scheduled": done.scheduled,
                        "sent": done.sent,
                        "skipped": done.skipped,
                        "reports_due": done.reports_due,
                    },
                )
        await asyncio.sleep(pause)
