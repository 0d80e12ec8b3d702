"""Making notifications on a real node the way the triggers do: ``notify()`` in a write
transaction on the node's services, about a call stored there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from node.features.actors.authz import Principal, principal_by_name
from node.features.calls.lifecycle import call_from_row, create_action
from node.features.notifications.kinds import Kind
from node.features.notifications.notify import notify
from node.features.notifications.preferences import update_member_settings
from node.features.notifications.wording import call_facts
from storage.models import ActionCall as CallRow
from storage.models import FollowUp, Notification
from storage.repositories import actors as actor_repo
from tests.rig.nodes import Node

START = (datetime.now(UTC) + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
CALL = {
    "title": "Canal clean-up",
    "start": START.isoformat(),
    "end": (START + timedelta(hours=3)).isoformat(),
    "timezone": "Europe/London",
    "place": {"name": "Lock 7", "address": "Towpath, Green Park"},
    "capacity": 20,
}


async def organiser_and_call(node: Node, **changes: Any) -> tuple[Principal, CallRow]:
    """Chapter ``greenpark`` with organiser ``olga`` and one upcoming call."""
    await node.chapter("greenpark", title="Green Park")
    await node.member("olga", role="organiser", chapter="greenpark")
    async with node.services.db.read() as session:
        olga = await principal_by_name(session, "olga")
    return olga, await create_action(node.services, olga, "greenpark", {**CALL, **changes})


async def member_with_address(node: Node, name: str, address: str | None) -> str:
    """A member (with ``address`` for e-mail, or none); their actor id."""
    created = await node.member(name, chapter="greenpark")
    if address is not None:
        await update_member_settings(node.services, name, email=address)
    return created.actor.ap_id


async def tell(
    node: Node, name: str, kind: Kind, call: CallRow, key: str = "1", **extra: Any
) -> Notification | None:
    """``notify`` member ``name`` about ``call`` (its facts as the triggers record them)."""
    services = node.services
    async with services.db.write() as session:
        member = await actor_repo.local_actor_by_name(session, name)
        assert member is not None, name
        data = {**call_facts(call_from_row(call, services), "Green Park"), **extra}
        return await notify(
            session,
            services,
            recipient=member.ap_id,
            kind=kind,
            key=f"{call.ap_id}:{key}",
            data=data,
            call=call.ap_id,
        )


async def email_state(node: Node, notification_id: int) -> str | None:
    async with node.services.db.read() as session:
        row = await session.get(Notification, notification_id)
        assert row is not None
        return row.email_state


async def email_follow_up(node: Node, notification_id: int) -> FollowUp:
    async with node.services.db.read() as session:
        row = await session.scalar(
            select(FollowUp).where(
                FollowUp.kind == "notification_email", FollowUp.key == str(notification_id)
            )
        )
        assert row is not None
        return row
