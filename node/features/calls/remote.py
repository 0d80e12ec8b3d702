"""Where another chapter's call becomes a row: the one place its document is sanitised.

A remote ``Event`` reaches us by several paths (a Create or Update from a chapter we follow, the
backfill of a newly followed chapter's outbox, or fetched because a report names it); each path
stores it through these functions, so none can keep a copy whose HTML was not cleaned
(``input.sanitized``: the allow-list, and http(s) links only). The pages, feeds and API read the
stored document, so what they show is the cleaned copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from node.features.calls.input import sanitized
from node.features.calls.lifecycle import row_values
from protocol.events import ActionCall
from storage.models import ActionCall as CallRow


def remote_call_values(call: ActionCall, doc: Mapping[str, object]) -> dict[str, object]:
    """The columns of a remote call's row, its document sanitised (to set on an existing row)."""
    return row_values(call, sanitized(doc))


def new_remote_call_values(
    call: ActionCall, doc: Mapping[str, object], now: datetime
) -> dict[str, object]:
    """Every column of a new row for a call another chapter published, its document sanitised."""
    return {
        "ap_id": call.id,
        "chapter": call.chapter,
        "local_actor_id": None,
        "published_at": call.published,
        "received_at": now,
        **remote_call_values(call, doc),
    }


def new_remote_call(call: ActionCall, doc: Mapping[str, object], now: datetime) -> CallRow:
    """A new row for a call another chapter published, its document sanitised."""
    return CallRow(**new_remote_call_values(call, doc, now))
