"""Durable counters (``node_counters``): added to in the transaction that did the counted work,
so a count never runs ahead of, or behind, what was committed, whichever process did it."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import NodeCounter

#: Inbox items whose handling is over (handled, or failed for good).
INBOX_HANDLED = "inbox_handled"


async def add(session: AsyncSession, name: str, amount: int) -> None:
    """Add ``amount`` to the counter, creating it at zero first."""
    if amount == 0:
        return
    table = NodeCounter.__table__
    await session.execute(insert_ignore(session, table, ["name"]).values(name=name, value=0))  # type: ignore[arg-type]
    await session.execute(
        update(NodeCounter).where(NodeCounter.name == name).values(value=NodeCounter.value + amount)
    )


async def value(session: AsyncSession, name: str) -> int:
    """The counter's value; zero before anything was counted."""
    return int(await session.scalar(select(NodeCounter.value).where(NodeCounter.name == name)) or 0)
