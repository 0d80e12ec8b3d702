"""Recording follow-ups, in the caller's transaction, and what their handlers may raise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.runtime.services import Services
from protocol.errors import ChapterhouseError, MalformedDocument
from protocol.ids import authority_of
from storage.repositories import follow_ups as follow_up_repo
from storage.repositories.follow_ups import NewFollowUp

#: What a kind's handler is: it does the work, or raises to ask for another try later.
FollowUpHandler = Callable[[Services, Mapping[str, Any]], Awaitable[None]]


class PermanentFailure(ChapterhouseError):
    """Raised by a follow-up handler when no later try can succeed: the row is dead at once
    (its last error keeps the message)."""


class RetryLater(ChapterhouseError):
    """Raised by a follow-up handler to be tried again later, with backoff (any other error
    does the same; this one is expected, so it is logged without a traceback)."""


def follow_up(kind: str, key: str, payload: Mapping[str, Any], about: str) -> NewFollowUp:
    """Work of ``kind``, recorded once per ``key``, that talks to the host of the URL ``about``
    (at most ``follow_up_per_host`` follow-ups run at once per host)."""
    try:
        host = authority_of(about)
    except MalformedDocument:
        host = ""
    return NewFollowUp(kind=kind, key=key, payload=dict(payload), host=host)


async def enqueue(session: AsyncSession, services: Services, *items: NewFollowUp) -> None:
    """Record ``items`` in ``session``'s transaction (work already recorded is left alone).
    Wake the worker (``services.wakeups.follow_ups``) once that transaction has committed."""
    await follow_up_repo.enqueue(session, items, services.clock.now())
