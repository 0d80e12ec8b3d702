"""What a notification can be about."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    # An RSVP answered (to the person who made it).
    ACCEPTED = "rsvp_accepted"
    WAITLISTED = "rsvp_waitlisted"
    PROMOTED = "rsvp_promoted"  # a place freed and the waiting list gave it to them
    REJECTED = "rsvp_rejected"
    REMOVED = "rsvp_removed"
    # A call they committed to.
    CHANGED = "call_changed"  # its time or place
    CANCELLED = "call_cancelled"
    RESTORED = "call_restored"
    REMINDER = "reminder"
    # For organisers.
    NEW_PARTICIPANT = "new_participant"
    FOLLOWER_WAITING = "follower_waiting"
    REPORT_DUE = "report_due"
    # A poll vote answered (to the voter, who has no other way of hearing).
    VOTE_COUNTED = "vote_counted"
    # A chapter they followed moved to another node (they now follow it there).
    CHAPTER_MOVED = "chapter_moved"


#: Kinds whose e-mail carries the call's ``.ics`` (confirmations and changes).
WITH_CALENDAR = frozenset(
    {Kind.ACCEPTED, Kind.PROMOTED, Kind.CHANGED, Kind.CANCELLED, Kind.RESTORED, Kind.REMINDER}
)
