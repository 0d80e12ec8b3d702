"""Local actors, their API tokens, and cached remote actors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Executable,
    Text,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.errors import AlreadyExists
from storage.models import ApiToken, Invitation, LocalActor, RemoteActor
from storage.models.states import GROUP_KINDS
from storage.repositories.batch_updates import rows_of


async def add_local_actor(session: AsyncSession, actor: LocalActor) -> LocalActor:
    existing = await session.scalar(select(LocalActor.id).where(LocalActor.name == actor.name))
    if existing is not None:
        raise AlreadyExists(f"an actor named {actor.name!r} already exists on this node")
    session.add(actor)
    await session.flush()
    return actor


async def local_actor_by_name(session: AsyncSession, name: str) -> LocalActor | None:
    return await session.scalar(select(LocalActor).where(LocalActor.name == name))


async def local_actor_by_ap_id(session: AsyncSession, ap_id: str) -> LocalActor | None:
    return await session.scalar(select(LocalActor).where(LocalActor.ap_id == ap_id))


async def local_actors(
    session: AsyncSession, kinds: Sequence[str] | None = None
) -> list[LocalActor]:
    stmt = select(LocalActor).order_by(LocalActor.id)
    if kinds is not None:
        stmt = stmt.where(LocalActor.kind.in_(kinds))
    return list(await session.scalars(stmt))


async def count_local_actors(session: AsyncSession, kind: str) -> int:
    return int(await session.scalar(select(func.count()).where(LocalActor.kind == kind)) or 0)


async def add_token(
    session: AsyncSession, actor_id: int, role: str, token_sha256: str, now: datetime
) -> None:
    session.add(ApiToken(token_sha256=token_sha256, actor_id=actor_id, role=role, created_at=now))
    await session.flush()


async def actor_for_token(
    session: AsyncSession, token_sha256: str
) -> tuple[LocalActor, str] | None:
    row = (
        await session.execute(
            select(LocalActor, ApiToken.role)
            .join(ApiToken, ApiToken.actor_id == LocalActor.id)
            .where(ApiToken.token_sha256 == token_sha256)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def remote_actor(session: AsyncSession, ap_id: str) -> RemoteActor | None:
    return await session.scalar(select(RemoteActor).where(RemoteActor.ap_id == ap_id))


async def remote_actor_card(session: AsyncSession, ap_id: str) -> RemoteActor | None:
    """What answering and naming a remote actor needs (inbox, names, document), read as plain
    columns (no ORM load: cheaper on every inbound Join). The row returned is not in the
    session: read it, do not change it."""
    row = (await session.execute(_CARD, {"ap_id": ap_id})).first()
    return None if row is None else RemoteActor(**row._mapping)


_CARD = select(
    RemoteActor.ap_id,
    RemoteActor.inbox,
    RemoteActor.preferred_username,
    RemoteActor.host,
    RemoteActor.document,
    RemoteActor.gone_at,
).where(RemoteActor.ap_id == bindparam("ap_id"))


async def remote_actor_text(session: AsyncSession, ap_id: str) -> tuple[datetime, str] | None:
    """When the cached copy of an actor was fetched, and its document as stored (JSON text).

    For callers that keep parsed documents: comparing the text with the one they parsed is
    far cheaper than building the ORM row and decoding the document on every request (and,
    on SQLite's inline connection, the statement runs as plain sqlite3: ``rows_of``)."""
    rows = await rows_of(session, _actor_text_stmt, (), {"ap_id": ap_id})
    return (rows[0][0], rows[0][1]) if rows else None


def _actor_text_stmt(dialect: str) -> Executable:
    return select(RemoteActor.fetched_at, type_coerce(RemoteActor.document, Text)).where(
        RemoteActor.ap_id == bindparam("ap_id")
    )


async def remote_actor_by_key_id(session: AsyncSession, key_id: str) -> RemoteActor | None:
    return await session.scalar(
        select(RemoteActor).where(RemoteActor.public_key_id == key_id).limit(1)
    )


async def upsert_remote_actor(session: AsyncSession, values: dict[str, Any]) -> None:
    """Insert or refresh the cached copy of a remote actor (keyed by its id)."""
    table = RemoteActor.__table__
    stmt = insert_ignore(session, table, ["ap_id"])  # type: ignore[arg-type]
    result = await session.execute(stmt.values(**values))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(
            table.update().where(table.c.ap_id == values["ap_id"]).values(**values)  # type: ignore[attr-defined]
        )


ROLE_ORDER = {"member": 0, "organiser": 1, "admin": 2}


async def strongest_role(session: AsyncSession, actor_id: int) -> str | None:
    """The highest role any of the actor's tokens grants."""
    roles = list(await session.scalars(select(ApiToken.role).where(ApiToken.actor_id == actor_id)))
    return max(roles, key=lambda r: ROLE_ORDER.get(r, -1)) if roles else None


async def invitation_by_token_hash(session: AsyncSession, token_sha256: str) -> Invitation | None:
    return await session.scalar(select(Invitation).where(Invitation.token_sha256 == token_sha256))


async def claim_invitation(
    session: AsyncSession, invitation_id: int, now: datetime, legacy_since: datetime
) -> bool:
    """Mark the invitation used if it is unused and unexpired, in one conditional UPDATE: of two
    racing sign-ups exactly one sees True. Links without ``expires_at`` (made before it
    existed) count as expired once created before ``legacy_since``."""
    result = await session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.used_at.is_(None),
            or_(
                Invitation.expires_at > now,
                and_(Invitation.expires_at.is_(None), Invitation.created_at > legacy_since),
            ),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def raise_session_epoch(session: AsyncSession, actor_id: int) -> None:
    """Sign every session of the actor out (their cookies carry the old epoch)."""
    await session.execute(
        update(LocalActor)
        .where(LocalActor.id == actor_id)
        .values(session_epoch=LocalActor.session_epoch + 1)
        .execution_options(synchronize_session=False)
    )


async def delete_tokens(session: AsyncSession, actor_id: int) -> int:
    """Delete every API token of the actor; returns how many there were."""
    result = await session.execute(delete(ApiToken).where(ApiToken.actor_id == actor_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def replace_password_hash(
    session: AsyncSession, actor_id: int, old: str | None, new: str
) -> bool:
    """Store ``new`` only if the hash is still ``old`` (a password set meanwhile wins)."""
    result = await session.execute(
        update(LocalActor)
        .where(LocalActor.id == actor_id, LocalActor.password_hash == old)
        .values(password_hash=new)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def group_actor_ids(session: AsyncSession, ids: Sequence[str]) -> list[str]:
    """Which of ``ids`` are groups (chapters, campaigns): local ones by kind, remote ones by
    the type their actor document gave."""
    if not ids:
        return []
    local = await session.scalars(
        select(LocalActor.ap_id).where(
            LocalActor.ap_id.in_(ids), LocalActor.kind.in_(sorted(GROUP_KINDS))
        )
    )
    remote = await session.scalars(
        select(RemoteActor.ap_id).where(
            RemoteActor.ap_id.in_(ids), RemoteActor.actor_type == "Group"
        )
    )
    return [*local, *remote]


async def actors_by_ap_ids(
    session: AsyncSession, ap_ids: Sequence[str]
) -> tuple[list[LocalActor], list[RemoteActor]]:
    """The local actors and cached remote actors among ``ap_ids`` (two queries for a page)."""
    wanted = set(ap_ids)
    if not wanted:
        return [], []
    local = await session.scalars(select(LocalActor).where(LocalActor.ap_id.in_(wanted)))
    remote = await session.scalars(select(RemoteActor).where(RemoteActor.ap_id.in_(wanted)))
    return list(local), list(remote)
