"""Action calls, participants, commitments and chapter memberships."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Executable,
    Select,
    Table,
    Text,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import (
    ActionCall,
    Commitment,
    Follow,
    LocalActor,
    Membership,
    Participant,
    RemoteActor,
)
from storage.models.follow import ACCEPTED
from storage.repositories.batch_updates import rows_of


async def call_by_ap_id(
    session: AsyncSession, ap_id: str, *, for_update: bool = False
) -> ActionCall | None:
    if for_update and session.get_bind().dialect.name == "postgresql":
        # Locked, the row is read afresh: a copy loaded earlier in the session may predate
        # the change of the transaction we waited for.
        stmt = _CALL_BY_AP_ID.with_for_update().execution_options(populate_existing=True)
        return await session.scalar(stmt, {"ap_id": ap_id})
    return await session.scalar(_CALL_BY_AP_ID, {"ap_id": ap_id})


#: Built once: every Join (and much else) reads its call by id.
_CALL_BY_AP_ID = select(ActionCall).where(ActionCall.ap_id == bindparam("ap_id"))


async def insert_call(session: AsyncSession, values: dict[str, Any]) -> None:
    """Store a new call row in one statement (no ORM object: a remote call arriving in a
    busy inbox is inserted and left alone; whoever needs it next reads it)."""
    await session.execute(_INSERT_CALL, values)


_INSERT_CALL = insert(cast(Table, ActionCall.__table__))


async def call_start(session: AsyncSession, ap_id: str) -> datetime | None:
    """When a stored call starts (None when we hold no such call): one column, not the row
    (plain sqlite3 on the inline connection: ``rows_of``)."""
    rows = await rows_of(session, _call_start_stmt, (), {"ap_id": ap_id})
    return rows[0][0] if rows else None


def _call_start_stmt(dialect: str) -> Executable:
    return select(ActionCall.start_time).where(ActionCall.ap_id == bindparam("ap_id"))


async def documents_by_ap_id(session: AsyncSession, ap_ids: Sequence[str]) -> dict[str, Any]:
    """The stored documents of the calls among ``ap_ids`` (one query for a whole page)."""
    if not ap_ids:
        return {}
    rows = await session.execute(
        select(ActionCall.ap_id, ActionCall.document).where(ActionCall.ap_id.in_(set(ap_ids)))
    )
    return {ap_id: document for ap_id, document in rows}


async def calls_of_chapter(
    session: AsyncSession, chapter: str, *, limit: int = 500
) -> list[ActionCall]:
    return list(
        await session.scalars(
            select(ActionCall)
            .where(ActionCall.chapter == chapter)
            .order_by(ActionCall.start_time, ActionCall.id)
            .limit(limit)
        )
    )


async def adoptions_of(
    session: AsyncSession, local_actor_id: int, campaign_call: str
) -> list[ActionCall]:
    """The calls a local chapter made from a campaign's call (their ``chapterhouse:campaign``
    link names it), oldest first. The stored text narrows the search; the document decides."""
    rows = await session.scalars(
        select(ActionCall)
        .where(
            ActionCall.local_actor_id == local_actor_id,
            type_coerce(ActionCall.document, Text).contains(campaign_call, autoescape=True),
        )
        .order_by(ActionCall.id)
    )
    return [
        r
        for r in rows
        if isinstance(r.document, dict) and r.document.get("chapterhouse:campaign") == campaign_call
    ]


def _upcoming(chapter: str, now: datetime, limit: int) -> Select[ActionCall]:
    return (
        select(ActionCall)
        .where(ActionCall.chapter == chapter, ActionCall.end_time >= now)
        .order_by(ActionCall.start_time, ActionCall.id)
        .limit(limit)
    )


def _past(chapter: str, now: datetime, limit: int) -> Select[ActionCall]:
    return (
        select(ActionCall)
        .where(ActionCall.chapter == chapter, ActionCall.end_time < now)
        .order_by(ActionCall.start_time.desc(), ActionCall.id.desc())
        .limit(limit)
    )


async def _stored_documents(
    session: AsyncSession, stmt: Select[ActionCall]
) -> list[tuple[str, str]]:
    rows = await session.execute(
        stmt.with_only_columns(ActionCall.ap_id, type_coerce(ActionCall.document, Text))
    )
    return [(str(ap_id), str(text)) for ap_id, text in rows]


async def upcoming_call_documents(
    session: AsyncSession, chapter: str, now: datetime, *, limit: int = 50
) -> list[tuple[str, str]]:
    """The next calls of a chapter, soonest first, as (id, stored JSON text) pairs: readers
    cache the parse by text."""
    return await _stored_documents(session, _upcoming(chapter, now, limit))


async def past_call_documents(
    session: AsyncSession, chapter: str, now: datetime, *, limit: int = 50
) -> list[tuple[str, str]]:
    """The latest past calls of a chapter, most recent first, as (id, stored JSON text) pairs."""
    return await _stored_documents(session, _past(chapter, now, limit))


async def recent_calls(
    session: AsyncSession, chapter: str, *, limit: int = 200
) -> list[ActionCall]:
    """The most recently published calls (feeds)."""
    return list(
        await session.scalars(
            select(ActionCall)
            .where(ActionCall.chapter == chapter)
            .order_by(ActionCall.published_at.desc(), ActionCall.id.desc())
            .limit(limit)
        )
    )


async def feed(
    session: AsyncSession,
    member_ap_id: str,
    *,
    offset: int,
    limit: int,
    also_followed_by: Sequence[str] = (),
) -> list[ActionCall]:
    """Calls of the actors a member follows (accepted), and of those the actors in
    ``also_followed_by`` follow (the chapters the member organises), newest received first."""
    followed = select(Follow.target).where(
        Follow.follower.in_([member_ap_id, *also_followed_by]), Follow.state == ACCEPTED
    )
    return list(
        await session.scalars(
            select(ActionCall)
            .where(ActionCall.chapter.in_(followed))
            .order_by(ActionCall.received_at.desc(), ActionCall.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )


async def participant(session: AsyncSession, call_id: int, actor: str) -> Participant | None:
    return await session.scalar(
        select(Participant).where(Participant.call_id == call_id, Participant.actor == actor)
    )


async def participants(session: AsyncSession, call_id: int) -> list[Participant]:
    return list(
        await session.scalars(
            select(Participant).where(Participant.call_id == call_id).order_by(Participant.id)
        )
    )


async def remove_participant(session: AsyncSession, call_id: int, actor: str) -> bool:
    result = await session.execute(
        delete(Participant).where(Participant.call_id == call_id, Participant.actor == actor)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def commitment(session: AsyncSession, member_id: int, call: str) -> Commitment | None:
    return await session.scalar(
        select(Commitment).where(Commitment.member_id == member_id, Commitment.call == call)
    )


async def commitment_by_join(session: AsyncSession, join_id: str) -> Commitment | None:
    return await session.scalar(select(Commitment).where(Commitment.join_activity_id == join_id))


async def commitments_of(session: AsyncSession, member_id: int) -> list[Commitment]:
    return list(
        await session.scalars(
            select(Commitment)
            .where(Commitment.member_id == member_id)
            .order_by(Commitment.id.desc())
        )
    )


async def membership(session: AsyncSession, member_id: int, chapter_id: int) -> Membership | None:
    return await session.scalar(
        select(Membership).where(
            Membership.member_id == member_id, Membership.chapter_id == chapter_id
        )
    )


async def set_membership(
    session: AsyncSession, member_id: int, chapter_id: int, role: str, now: datetime
) -> Membership:
    row = await membership(session, member_id, chapter_id)
    if row is None:
        row = Membership(
            member_id=member_id, chapter_id=chapter_id, role=role, active=True, created_at=now
        )
        session.add(row)
    else:
        row.role = role
        row.active = True
    await session.flush()
    return row


async def chapters_of(session: AsyncSession, member_id: int) -> Sequence[tuple[LocalActor, str]]:
    rows = await session.execute(
        select(LocalActor, Membership.role)
        .join(Membership, Membership.chapter_id == LocalActor.id)
        .where(Membership.member_id == member_id, Membership.active.is_(True))
    )
    return [(actor, role) for actor, role in rows]


async def upcoming_local_call_documents(
    session: AsyncSession, now: datetime, *, limit: int = 10
) -> list[tuple[str, str]]:
    """The next calls of every local chapter and campaign, soonest first, cancelled ones left
    out (the front page), as (id, stored JSON text) pairs."""
    stmt = (
        select(ActionCall)
        .where(
            ActionCall.local_actor_id.is_not(None),
            ActionCall.end_time >= now,
            ActionCall.status != "CANCELLED",
        )
        .order_by(ActionCall.start_time, ActionCall.id)
        .limit(limit)
    )
    return await _stored_documents(session, stmt)


# -- telling the people a call concerns (issue 15) ------------------------------------------


async def participant_inboxes(session: AsyncSession, call_id: int) -> list[str]:
    """Distinct delivery inboxes (shared where offered) of a call's remote participants whose
    accounts are not gone: they hear of the call's changes even if they follow nobody here."""
    inbox = func.coalesce(RemoteActor.shared_inbox, RemoteActor.inbox)
    rows = await session.scalars(
        select(inbox)
        .join(Participant, Participant.actor == RemoteActor.ap_id)
        .where(Participant.call_id == call_id, RemoteActor.gone_at.is_(None))
        .distinct()
    )
    return [r for r in rows if r]


async def commitments_to(session: AsyncSession, call: str) -> list[Commitment]:
    """Our members' commitments to one call (here or elsewhere)."""
    return list(
        await session.scalars(
            select(Commitment).where(Commitment.call == call).order_by(Commitment.id)
        )
    )


async def has_commitment_to(session: AsyncSession, call: str, chapter: str) -> bool:
    """Whether one of our members has answered ``chapter``'s call ``call`` (we then keep its
    copy current, whether or not anyone here follows the chapter)."""
    found = await session.scalar(_COMMITMENT_TO, {"call": call, "chapter": chapter})
    return found is not None


_COMMITMENT_TO = (
    select(Commitment.id)
    .where(Commitment.call == bindparam("call"), Commitment.chapter == bindparam("chapter"))
    .limit(1)
)


async def adoptions_of_call(session: AsyncSession, campaign_call: str) -> list[ActionCall]:
    """Every local chapter's calls made from ``campaign_call``, oldest first (the stored text
    narrows the search; the document's ``chapterhouse:campaign`` link decides)."""
    rows = await session.scalars(
        select(ActionCall)
        .where(
            ActionCall.local_actor_id.is_not(None),
            type_coerce(ActionCall.document, Text).contains(campaign_call, autoescape=True),
        )
        .order_by(ActionCall.id)
    )
    return [
        r
        for r in rows
        if isinstance(r.document, dict) and r.document.get("chapterhouse:campaign") == campaign_call
    ]


async def calls_naming(
    session: AsyncSession, chapters: Sequence[str], calls: Sequence[str], *, limit: int
) -> list[ActionCall]:
    """Calls of ``chapters`` whose stored text names one of ``calls`` (a campaign's map of the
    calls adopted from its own), newest first. The text narrows; the caller checks the link."""
    if not chapters or not calls:
        return []
    named = [type_coerce(ActionCall.document, Text).contains(c, autoescape=True) for c in calls]
    rows = await session.scalars(
        select(ActionCall)
        .where(ActionCall.chapter.in_(list(chapters)), or_(*named))
        .order_by(ActionCall.start_time.desc(), ActionCall.id)
        .limit(limit)
    )
    return list(rows)


async def add_call_if_absent(session: AsyncSession, values: dict[str, Any]) -> None:
    """Store a call unless one with its id exists: a delivery of the same call may be storing
    it in a concurrent transaction (on PostgreSQL both would see it missing)."""
    table = ActionCall.__table__
    await session.execute(insert_ignore(session, table, ["ap_id"]).values(**values))  # type: ignore[arg-type]
