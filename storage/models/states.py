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
    """A member's RSVP to a call, as the call's chapter answered it."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


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
