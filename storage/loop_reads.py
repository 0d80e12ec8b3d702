"""Short reads in the event loop's thread when the database allows, else the async way.

Checks on the inbox's acceptance path read a row or two per request (a call's start, an actor's
published keys). Through aiosqlite each read is a hand-off to the driver's thread and back, and
under a flood that hand-off waits behind every other request: it cost more than the read. On an
SQLite file :func:`read_now` runs the read on the inline read connection
(``InlineSessions.read``: a connection of its own, so it sees exactly what an async read sees,
committed rows only, and never waits for a lock). When that connection answers busy, the read is
run again the async way; reads have no effects, so running one twice changes nothing.
Elsewhere (PostgreSQL, in-memory SQLite) it is ``Database.read``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from storage.engine import Database
from storage.inline import InlineBusy

T = TypeVar("T")


async def read_now(db: Database, reader: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``reader``'s result, read in the loop's thread if possible. ``reader`` must only read
    (the inline connection is ``query_only``) and await nothing but the session."""
    if db.inline is not None:
        try:
            async with db.inline.read() as session:
                return await reader(session)
        except InlineBusy:
            pass
    async with db.read() as session:
        return await reader(session)
