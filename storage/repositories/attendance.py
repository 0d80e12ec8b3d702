"""Who came to a call: check-ins of participants (by actor), walk-ins given by name (no
actor), the anonymous walk-in count kept on the call, and the call's check-in code.

Rows are private to the chapter's organisers; only ``came`` (a count) is ever published.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import ActionCall, Attendance


async def attendance_of(session: AsyncSession, call_id: int) -> list[Attendance]:
    """Every check-in and named walk-in of a call, in the order they were recorded."""
    return list(
        await session.scalars(
            select(Attendance).where(Attendance.call_id == call_id).order_by(Attendance.id)
        )
    )


async def checked_in(session: AsyncSession, call_id: int, actor: str) -> Attendance | None:
    return await session.scalar(
        select(Attendance).where(Attendance.call_id == call_id, Attendance.actor == actor)
    )


async def check_in(
    session: AsyncSession,
    call_id: int,
    actor: str,
    *,
    slot: str | None,
    recorded_by: str,
    now: datetime,
) -> bool:
    """Record that ``actor`` came; False when they were checked in already. The unique
    (call, actor) constraint settles two check-ins at once (the organiser's tap and the
    member's code): one row, no error."""
    table = Attendance.__table__
    stmt = insert_ignore(session, table, ["call_id", "actor"]).values(  # type: ignore[arg-type]
        call_id=call_id, actor=actor, name=None, slot=slot, recorded_by=recorded_by, created_at=now
    )
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def undo_check_in(session: AsyncSession, call_id: int, actor: str) -> bool:
    result = await session.execute(
        delete(Attendance).where(Attendance.call_id == call_id, Attendance.actor == actor)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def add_named_walk_in(
    session: AsyncSession, call_id: int, name: str, *, recorded_by: str, now: datetime
) -> Attendance:
    """Someone who came without an account, by the name they gave (two people may share one)."""
    row = Attendance(
        call_id=call_id, actor=None, name=name, slot=None, recorded_by=recorded_by, created_at=now
    )
    session.add(row)
    await session.flush()
    return row


async def remove_named_walk_in(session: AsyncSession, call_id: int, name: str) -> bool:
    """Take back the latest walk-in recorded under ``name`` (exactly as stored)."""
    latest = await session.scalar(
        select(Attendance.id)
        .where(Attendance.call_id == call_id, Attendance.actor.is_(None), Attendance.name == name)
        .order_by(Attendance.id.desc())
        .limit(1)
    )
    if latest is None:
        return False
    await session.execute(delete(Attendance).where(Attendance.id == latest))
    return True


async def remove_walk_in_row(session: AsyncSession, call_id: int, row_id: int) -> bool:
    """Take back one named walk-in by its row (the check-in page's undo button)."""
    result = await session.execute(
        delete(Attendance).where(
            Attendance.id == row_id, Attendance.call_id == call_id, Attendance.actor.is_(None)
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def add_walk_ins(session: AsyncSession, call_id: int, delta: int) -> int | None:
    """Change the anonymous walk-in count by ``delta`` in one statement (no lost update);
    None, and nothing changed, when that would take it below zero."""
    result = await session.execute(
        update(ActionCall)
        .where(ActionCall.id == call_id, ActionCall.walk_ins + delta >= 0)
        .values(walk_ins=ActionCall.walk_ins + delta)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return await walk_in_count(session, call_id)


async def walk_in_count(session: AsyncSession, call_id: int) -> int:
    return int(
        await session.scalar(select(ActionCall.walk_ins).where(ActionCall.id == call_id)) or 0
    )


async def came(session: AsyncSession, call_id: int) -> int:
    """How many came: everyone checked in or named, plus the anonymous walk-ins."""
    recorded = await session.scalar(
        select(func.count()).select_from(Attendance).where(Attendance.call_id == call_id)
    )
    return int(recorded or 0) + await walk_in_count(session, call_id)


async def came_by_ap_id(session: AsyncSession, call: str) -> int | None:
    """``came`` for the call ``call``, or None when nobody's attendance was recorded (the call
    pages then fall back to the participants)."""
    row = await session.scalar(select(ActionCall.id).where(ActionCall.ap_id == call))
    if row is None:
        return None
    count = await came(session, row)
    return count or None


async def set_checkin_code(session: AsyncSession, call_id: int, code: str) -> str:
    """The call's check-in code: ``code`` if it had none, else the one it has (two organisers
    opening the page at once agree on one code)."""
    await session.execute(
        update(ActionCall)
        .where(ActionCall.id == call_id, ActionCall.checkin_code.is_(None))
        .values(checkin_code=code)
    )
    stored = await session.scalar(select(ActionCall.checkin_code).where(ActionCall.id == call_id))
    assert stored is not None
    return str(stored)
