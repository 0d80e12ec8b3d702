"""Which handler runs each kind of follow-up: the wiring (``node/runtime/app.py``) passes
``FOLLOW_UP_HANDLERS`` to the follow-up worker (``node/federation/followups``), which knows the
kinds only by name. The kinds are described where they are recorded:
``node/features/impact/follow_ups.py``, ``handlers/backfill.py``, ``node/features/calls/lifecycle.py``
(a call's coalesced participation Update, and the calls adopted from a campaign call of
this node following it), ``node/features/calls/poll_updates.py`` (a call's poll counts)
and ``node/features/impact/verifications.py`` (a campaign's rollup checked once per
version)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from node.features.actors.move import MOVE_FOLLOWERS, move_followers
from node.features.calls.adoption.follow import follow_adopted
from node.features.calls.lifecycle import (
    ADOPTED_CALLS,
    PARTICIPATION_UPDATE,
    send_participation_update,
)
from node.features.calls.polls import POLL_UPDATE, send_poll_update
from node.features.impact import follow_ups as impact
from node.features.impact.verifications import VERIFY_ROLLUP, verify_stored_rollup
from node.features.notifications.email import send_notification_email
from node.features.notifications.notify import NOTIFICATION_EMAIL
from node.federation.followups.queue import FollowUpHandler
from node.interfaces.activitypub.handlers.backfill import BACKFILL, backfill

FOLLOW_UP_HANDLERS: Final[Mapping[str, FollowUpHandler]] = MappingProxyType(
    {
        impact.REPORT_CALL: impact.count_with_call,
        impact.RELAYED: impact.relay,
        impact.ROLLUP: impact.expand_rollup,
        impact.ROLLUP_SOURCE: impact.count_rollup_source,
        BACKFILL: backfill,
        PARTICIPATION_UPDATE: send_participation_update,
        POLL_UPDATE: send_poll_update,
        ADOPTED_CALLS: follow_adopted,
        VERIFY_ROLLUP: verify_stored_rollup,
        NOTIFICATION_EMAIL: send_notification_email,
        MOVE_FOLLOWERS: move_followers,
    }
)
