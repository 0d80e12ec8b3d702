"""Every state, kind and role a row can hold, as enums: one spelling, checked by the type
checker. They are ``StrEnum``s, so the stored column values are the plain strings they always
were (no migration) and compare equal to them."""

from __future__ import annotations

from enum import StrEnum


class ActorKind(StrEnum):
    """What a local actor is: a chapter or campaign (``Group``), a member (``Person``), or the
    node's instance actor (``Application``)."""

    CHAPTER = "chapter"
    CAMPAIGN = "campaign"
    MEMBER = "member"
    INSTANCE = "instance"


#: The kinds that are groups: they have members, calls and followers.
GROUP_KINDS = frozenset({ActorKind.CHAPTER, ActorKind.CAMPAIGN})


class Role(StrEnum):
    """A member's role in a chapter, or a token's; each includes the ones before it."""

    MEMBER = "member"
    ORGANISER = "organiser"
    ADMIN = "admin"


class FollowState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class CommitmentState(StrEnum):
    """A member's RSVP to a call, as the call's chapter answered it: ``pending`` until the
    chapter answers, then ``accepted`` or ``rejected`` (or ``waitlisted``, when a call takes
    a waiting list); ``removed`` when the organisers took back an accepted place (a
    ``Reject`` of a Join they had accepted); ``left`` when the member withdrew.

    ``cancelled`` is never stored: it is how a pending, accepted or waitlisted commitment
    shows while its call is cancelled (``shown_state``), so restoring the call shows the
    answer the member had before."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    WAITLISTED = "waitlisted"
    REJECTED = "rejected"
    REMOVED = "removed"
    CANCELLED = "cancelled"
    LEFT = "left"


#: Commitments that a cancellation of their call affects (the member was, or may be, going).
HOPING_STATES = frozenset(
    {CommitmentState.PENDING, CommitmentState.ACCEPTED, CommitmentState.WAITLISTED}
)


def shown_state(stored: str, call_cancelled: bool) -> str:
    """What a commitment is to the member: its stored answer, or ``cancelled`` while the
    call is cancelled and the member was still hoping to go."""
    if call_cancelled and stored in HOPING_STATES:
        return CommitmentState.CANCELLED
    return stored


class InboxState(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class FollowUpState(StrEnum):
    """A follow-up of an inbound activity (storage/models/follow_up.py): waiting or retrying,
    done, or given up (its last error says why)."""

    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"


class Support(StrEnum):
    """Whether a host takes something (RFC 9421 signatures): learned, never assumed."""

    UNKNOWN = "unknown"
    YES = "yes"
    NO = "no"


class Severity(StrEnum):
    """How hard a domain is blocked."""

    SUSPEND = "suspend"  # refuse everything from and to the domain
    SILENCE = "silence"  # accept, but keep out of feeds


class FlagState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class PlaceState(StrEnum):
    """A participant's place in one of our calls: held, or waiting for one to free."""

    ACCEPTED = "accepted"
    WAITLISTED = "waitlisted"


class ReminderState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"  # the call was cancelled, or its start moved, before it was due


class EmailState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
