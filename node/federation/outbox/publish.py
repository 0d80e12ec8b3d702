"""Publishing: store the activity and its delivery rows in the caller's transaction.

No remote I/O happens here; the delivery worker sends the rows after the commit, so a crash
between the change and the sending loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.runtime.services import Services
from protocol.errors import MalformedDocument
from protocol.ids import Origin, origin_of
from protocol.jsonld import id_of, is_public
from storage.models import LocalActor
from storage.repositories import deliveries as delivery_repo
from storage.repositories import outbox as outbox_repo

log = logging.getLogger(__name__)

#: Activities about one object that must reach each inbox in the order they were published.
ORDERED = frozenset({"Create", "Update", "Delete"})


async def publish(
    session: AsyncSession,
    services: Services,
    actor: LocalActor,
    activity: dict[str, Any],
    inboxes: Iterable[str],
) -> int:
    """Record ``activity`` as sent by ``actor`` and queue it once per distinct remote inbox;
    returns the stored activity's primary key.

    Two Core INSERTs (the activity, then its deliveries in one ``executemany``), no ORM
    object: an inbound Join publishes its Accept inside the inbox worker's batch, so this runs
    once per item. The caller wakes the delivery worker once its transaction has committed.
    """
    # A Core INSERT does not autoflush, but callers may rely on their pending objects being
    # written (and given ids) by now, as the ORM add did: flush them. Nothing pending: no cost.
    await session.flush()
    kind = activity["type"]
    now = services.clock.now()
    pk = await outbox_repo.insert_activity(
        session,
        ap_id=activity["id"],
        actor_id=actor.id,
        activity_type=str(kind),
        body=activity,
        public=is_public(activity.get("to")) or is_public(activity.get("cc")),
        now=now,
    )
    targets = _remote_targets(services, inboxes)
    ordering_key = id_of(activity.get("object")) if kind in ORDERED else None
    await delivery_repo.enqueue_new(session, pk, targets, now, ordering_key)
    return pk


def _remote_targets(services: Services, inboxes: Iterable[str]) -> dict[str, str]:
    """Remote inboxes we may deliver to, with their hosts.

    Origins are parsed once per ``scheme://authority`` prefix (which alone decides them): a
    fan-out to 10,000 inboxes usually spans a few hundred hosts.
    """
    here = origin_of(services.settings.base_url)
    origins: dict[str, Origin | None] = {}
    targets: dict[str, str] = {}
    for inbox in inboxes:
        prefix = "/".join(inbox.split("/", 3)[:3])
        if prefix in origins:
            origin = origins[prefix]
        else:
            try:
                origin = origins[prefix] = origin_of(prefix)
            except MalformedDocument:
                origin = origins[prefix] = None
        if origin is None:
            log.warning("outbox.bad_inbox", extra={"inbox": inbox})
            continue
        host = origin.authority
        # Nothing goes to ourselves, nor to suspended domains and blocked actors.
        if origin != here and services.blocks.refusal(inbox, host) is None:
            targets[inbox] = host
    return targets
