"""Durable counters (``node_counters``): added to in the transaction that did the counted work,
so a count never runs ahead of, or behind, what was committed, whichever process did it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import NodeCounter

#: Inbox items whose handling is over (handled, or failed for good).
INBOX_HANDLED = "inbox_handled"


async def add(session: AsyncSession, name: str, amount: int) -> None:
    """Add ``amount`` to the counter, creating it first: one upsert, one statement (on
    PostgreSQL a round trip, paid once per inbox batch)."""
    if amount == 0:
        return
    module: Any
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql as module
    else:
        from sqlalchemy.dialects import sqlite as module
    table = NodeCounter.__table__
    stmt = module.insert(table).values(name=name, value=amount)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.name], set_={"value": table.c.value + stmt.excluded.value}
        )
    )


async def value(session: AsyncSession, name: str) -> int:
    """The counter's value; zero before anything was counted."""
    return int(await session.scalar(select(NodeCounter.value).where(NodeCounter.name == name)) or 0)
