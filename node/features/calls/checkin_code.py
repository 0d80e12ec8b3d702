"""A call's check-in code: organisers show it at the door, and a signed-in member who enters
it on the call's page while the call runs is checked in.

The code is 8 characters of Crockford's base32 alphabet (no I, L, O or U; entry forgives
case, spaces, dashes and the look-alikes O→0, I/L→1), drawn with ``secrets``: 40 bits, made
once per call (stored in ``action_calls.checkin_code``) when an organiser first opens the
check-in page or asks for it, and shown as ``ABCD-EFGH``.

Guessing it is what must not pay. The size of the code is the defence that holds whatever
else fails: 2^40 codes, accepted only from a signed-in member, only while the call runs
(from 30 minutes before its start to its end, by the node's clock). On top of that each
member has a small budget of attempts (5 at once, then one more every 3 minutes: about 85
tries over a four-hour call, a chance below one in ten billion), charged before the code is
compared and handed back when it was right. The budget is a token bucket kept in memory,
like the sign-in limits (``services.limits``, no module state): a restart refills it, which
buys a guesser a few more tries, not a meaningful chance. Nothing durable was needed for it,
so no table holds failed attempts.

What a right code grants is small too: the member is counted as having come (their own
attendance; nobody else's, and no access to who else came).
"""

from __future__ import annotations

import math
import secrets
from datetime import timedelta
from typing import Final

from node.features.actors.authz import NotFoundError, Principal
from node.features.actors.passwords import constant_time_equal
from node.features.calls.attendance import organised_call
from node.federation.admission.ratelimit import RateLimiter
from node.runtime.services import Services
from protocol.errors import N_, WordedError
from protocol.events import CANCELLED, document_zone
from protocol.localtime import Moment
from protocol.timefmt import format_xsd_datetime
from storage.models import ActionCall as CallRow
from storage.repositories import actions as action_repo
from storage.repositories import attendance as attendance_repo

ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
CODE_LENGTH: Final = 8
LOOK_ALIKES: Final = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})
#: Check-in by code opens this long before the call's start (people arrive early).
OPENS_BEFORE: Final = timedelta(minutes=30)
#: Each member's attempts: this many at once, then one more every ``ATTEMPT_SECONDS``.
ATTEMPTS: Final = 5
ATTEMPT_SECONDS: Final = 180
LIMITS_KEY: Final = "checkin_code"
MAX_INPUT: Final = 64  # characters of a typed code looked at


class CheckinRefused(WordedError):
    """A member's check-in with a code is refused; the message says why (raised with an ``N_``
    wording and its data, so the call's page says it in the member's language)."""


class CheckinClosed(CheckinRefused):
    """The call is not running (or takes no check-ins): the code is not even looked at."""


class WrongCode(CheckinRefused):
    """The code entered is not the call's."""


class CheckinThrottled(CheckinRefused):
    """Too many attempts by this member; ``retry_after`` in whole seconds."""

    def __init__(self, wait: float) -> None:
        self.retry_after = max(1, math.ceil(wait))
        super().__init__(
            N_(
                "Too many check-in codes tried: try again in {seconds} seconds, "
                "or ask an organiser to check you in."
            ),
            seconds=self.retry_after,
        )


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """What someone typed, as the stored code would be written."""
    return text[:MAX_INPUT].strip().upper().translate(LOOK_ALIKES)


def shown_code(code: str) -> str:
    """``ABCD-EFGH``: easier to read out at the door."""
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


async def checkin_code(services: Services, who: Principal, call_id: str) -> str:
    """The call's code (organisers only), made the first time it is asked for."""
    async with services.db.read() as session:
        row, _ = await organised_call(session, who, call_id)
        if row.checkin_code:
            return row.checkin_code
    async with services.db.write() as session:
        row, _ = await organised_call(session, who, call_id, lock=True)
        return await attendance_repo.set_checkin_code(session, row.id, new_code())


def checkin_window(row: CallRow) -> tuple[str, str]:
    """When check-in by code opens and closes (xsd:dateTime, UTC)."""
    return format_xsd_datetime(row.start_time - OPENS_BEFORE), format_xsd_datetime(row.end_time)


def checkin_open(row: CallRow, services: Services) -> bool:
    """Whether a code is taken for the call now (by the node's clock)."""
    now = services.clock.now()
    return (
        row.local_actor_id is not None
        and row.status != CANCELLED
        and row.start_time - OPENS_BEFORE <= now <= row.end_time
    )


async def member_checkin(services: Services, who: Principal | None, row: CallRow) -> str | None:
    """What the call's page offers ``who``: None (nothing: not signed in, the call is not
    running, or it has no code yet), ``"open"`` (the code form) or ``"done"`` (they are
    checked in already)."""
    if who is None or not row.checkin_code or not checkin_open(row, services):
        return None  # no code yet: the organisers have not opened check-in
    async with services.db.read() as session:
        mine = await attendance_repo.checked_in(session, row.id, who.actor.ap_id)
    return "done" if mine is not None else "open"


def _refuse_if_closed(row: CallRow, services: Services) -> None:
    if row.status == CANCELLED:
        raise CheckinClosed(N_("the action call is cancelled"))
    now = services.clock.now()
    zone = document_zone(row.document)
    if now < row.start_time - OPENS_BEFORE:
        raise CheckinClosed(
            N_("check-in opens at {opens}, 30 minutes before the start"),
            opens=Moment(row.start_time - OPENS_BEFORE, zone),
        )
    if now > row.end_time:
        raise CheckinClosed(
            N_("the action call ended at {closes}: check-in is closed"),
            closes=Moment(row.end_time, zone),
        )
    if not row.checkin_code:
        raise CheckinClosed(N_("the organisers have not opened check-in for this call yet"))


def _limiter(services: Services) -> RateLimiter:
    limiter = services.limits.get(LIMITS_KEY)
    if limiter is None:
        limiter = services.limits[LIMITS_KEY] = RateLimiter(1 / ATTEMPT_SECONDS, ATTEMPTS)
    return limiter


async def check_in_with_code(services: Services, who: Principal, call_id: str, code: str) -> bool:
    """Check ``who`` in to ``call_id`` if ``code`` is the call's; True when newly checked in,
    False when they were already. Refusals raise ``CheckinRefused`` (closed, wrong, throttled)."""
    async with services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
        if row is None or row.local_actor_id is None:
            raise NotFoundError(N_("no action call {id} on this node"), id=call_id)
        _refuse_if_closed(row, services)
        stored = str(row.checkin_code)
    limiter, key = _limiter(services), str(who.actor.id)
    wait = limiter.take(key)  # charged before comparing: parallel guesses count too
    if wait is not None:
        raise CheckinThrottled(wait)
    if not constant_time_equal(normalise_code(code), stored):
        raise WrongCode(
            N_("That is not this call's check-in code: check it with an organiser and try again.")
        )
    limiter.give_back(key)  # a right code costs nothing
    async with services.db.write() as session:
        row = await action_repo.call_by_ap_id(session, call_id, for_update=True)
        if row is None:
            raise NotFoundError(N_("no action call {id} on this node"), id=call_id)
        place = await action_repo.participant(session, row.id, who.actor.ap_id)
        return await attendance_repo.check_in(
            session,
            row.id,
            who.actor.ap_id,
            slot=place.slot if place is not None else None,
            recorded_by=who.actor.ap_id,
            now=services.clock.now(),
        )
