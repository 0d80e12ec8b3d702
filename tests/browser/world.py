"""Worlds for the page tests: nodes with chapters, a campaign, calls, reports and passwords.

Shared by ``tests/browser`` (Playwright journeys) and ``tests/a11y`` (HTML checks).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from node.features.actors.authz import Principal, principal_by_name
from node.features.actors.local import create_actor
from node.features.actors.passwords import hash_password
from node.features.calls.lifecycle import adopt_action, create_action
from node.features.following.follow import follow
from storage.models import ActionCall as CallRow
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo
from tests.rig.nodes import Node, eventually

PASSWORD = "correct horse battery staple"
LONDON = ZoneInfo("Europe/London")


async def set_password(node: Node, name: str, password: str = PASSWORD) -> None:
    """What ``chapterhouse member password NAME`` does, in-process."""
    async with node.services.db.write() as session:
        actor = await actor_repo.local_actor_by_name(session, name)
        assert actor is not None, name
        actor.password_hash = hash_password(password)


async def principal(node: Node, name: str) -> Principal:
    async with node.services.db.read() as session:
        return await principal_by_name(session, name)


def call_data(title: str, *, days: int = 30, **extra: object) -> dict[str, object]:
    """An upcoming call (``days`` from now, three hours long)."""
    # 10:00 in London that day, with London's offset then (an offset that disagrees with the
    # zone is refused).
    start = (datetime.now(LONDON) + timedelta(days=days)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    return {
        "title": title,
        "start": start.isoformat(),
        "end": (start + timedelta(hours=3)).isoformat(),
        "timezone": "Europe/London",
        "place": "Green Park gates",
        "goal": "A litter-free park",
        **extra,
    }


def form_times(data: dict[str, object]) -> dict[str, str]:
    """The call form's date and time fields (``#start_date``...) for ``call_data``'s times: local
    time in its zone, as a person types it."""
    zone = ZoneInfo(str(data["timezone"]))
    start = datetime.fromisoformat(str(data["start"])).astimezone(zone)
    end = datetime.fromisoformat(str(data["end"])).astimezone(zone)
    return {
        "#start_date": start.date().isoformat(),
        "#start_time": start.strftime("%H:%M"),
        "#end_date": end.date().isoformat(),
        "#end_time": end.strftime("%H:%M"),
    }


async def follow_and_wait(node: Node, follower: str, target: str) -> None:
    """``follower`` (local to ``node``) follows ``target`` and waits for the Accept."""
    await follow(node.services, follower, target)
    follower_id = node.services.ids.actor(follower)

    async def accepted() -> bool:
        async with node.services.db.read() as session:
            row = await follow_repo.follow_between(session, follower_id, target)
        return row is not None and row.state == "accepted"

    await eventually(accepted, what=f"{follower} to be accepted by {target}")


async def has_call(node: Node, call_id: str) -> bool:
    async with node.services.db.read() as session:
        return (
            await session.scalar(select(CallRow.id).where(CallRow.ap_id == call_id))
        ) is not None


def knows(node: Node, call_id: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await has_call(node, call_id)

    return check


@dataclass
class CampaignWorld:
    """A campaign node (``hub``) and a chapter node (``chapter_node``) that joined it.

    ``greenpark`` (on ``chapter_node``) follows the ``climate`` campaign and has adopted its
    call as ``adopted_call``; ``olga`` organises greenpark and ``root`` administers the chapter
    node (both with :data:`PASSWORD`); ``cora`` organises the campaign on the hub.
    """

    hub: Node
    chapter_node: Node
    campaign_id: str
    chapter_id: str
    campaign_call: str
    adopted_call: str
    olga: Principal


async def campaign_world(hub: Node, chapter_node: Node) -> CampaignWorld:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    campaign = (await create_actor(hub.services, "climate", "campaign", title="Climate Day")).actor
    await hub.member("cora", role="organiser", chapter="climate")
    chapter = (
        await chapter_node.chapter(
            "greenpark",
            title="Green Park Clean-up Crew",
            summary="We keep Green Park clean, one Saturday a month.",
        )
    ).actor
    await chapter_node.member("olga", role="organiser", chapter="greenpark")
    await chapter_node.member("root", role="admin")
    for name in ("olga", "root"):
        await set_password(chapter_node, name)
    await follow_and_wait(chapter_node, "greenpark", campaign.ap_id)  # the chapter joins
    call = await create_action(
        hub.services,
        await principal(hub, "cora"),
        "climate",
        call_data(
            "Global day of action",
            targets=["participants=100:people", "kg_litter=500:kg"],
            # under way (impact is reported once a call has started), so still listed
            start=(now - timedelta(hours=1)).astimezone(LONDON).isoformat(),
            end=(now + timedelta(hours=2)).astimezone(LONDON).isoformat(),
        ),
    )
    await eventually(knows(chapter_node, call.ap_id), what="the campaign's call at the chapter")
    olga = await principal(chapter_node, "olga")
    adopted = await adopt_action(chapter_node.services, olga, call.ap_id, "greenpark")
    await eventually(knows(hub, adopted.ap_id), what="the adopted call at the campaign")
    return CampaignWorld(
        hub, chapter_node, campaign.ap_id, chapter.ap_id, call.ap_id, adopted.ap_id, olga
    )
