"""A node with public data to read: a chapter with a place, a campaign with targets, a report
counted, an upcoming call; and private data that must never leave through a public read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from node.features.actors.authz import principal_by_name
from node.features.actors.local import create_actor
from node.features.actors.passwords import hash_password
from node.features.calls.lifecycle import adopt_action, create_action
from node.features.following.follow import follow
from node.features.impact.reports import create_report, parse_metric_args
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from tests.rig.nodes import Node

#: Looks like markup and breaks XML if unescaped: the widget and badge must show it as text.
CAMPAIGN_TITLE = 'Clean <Rivers> & "Parks" \x01'
SHOWN_TITLE = 'Clean <Rivers> & "Parks"'
NEW_YORK = ZoneInfo("America/New_York")
#: The next call's time as the widget writes it: in the call's own zone, not the viewer's.
NEXT_CALL_TIME = "18:30"
SECRET_EMAIL = "mo.private@example.org"
SECRET_PASSWORD = "correct horse battery staple"


@dataclass
class PublicWorld:
    node: Node
    admin: str  # tokens
    organiser: str  # of greenpark and of the campaign
    campaign_call: str  # under way, with targets; adopted and reported on
    next_call: str  # the campaign's next call (upcoming)
    greenpark_call: str  # greenpark's own upcoming call
    chapter: str  # greenpark's IRI
    campaign: str  # the campaign's IRI


def _iso(when: datetime) -> str:
    return when.isoformat()


async def public_world(node: Node) -> PublicWorld:
    services = node.services
    now = datetime.now(UTC).replace(microsecond=0)
    ada = await node.member("ada", role="admin")
    greenpark = await node.chapter("greenpark", title="Green Park Crew")
    campaign = await create_actor(services, "rivers", "campaign", title=CAMPAIGN_TITLE)
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    async with services.db.write() as session:  # olga organises the campaign too
        await action_repo.set_membership(
            session, olga.actor.id, campaign.actor.id, "organiser", now
        )
    await node.member("mo", role="member", chapter="greenpark")
    async with services.db.write() as session:  # a member's private data
        mo = await actor_repo.local_actor_by_name(session, "mo")
        assert mo is not None
        mo.email = SECRET_EMAIL
        mo.password_hash = hash_password(SECRET_PASSWORD)
        chapter = await actor_repo.local_actor_by_name(session, "greenpark")
        assert chapter is not None
        chapter.place_name, chapter.latitude, chapter.longitude = "Green Park", 51.5, -0.14
        chapter.topics, chapter.languages = ["litter"], ["en"]
    await follow(services, "greenpark", campaign.actor.ap_id)
    async with services.db.read() as session:
        who = await principal_by_name(session, "olga")
    under_way = {
        "title": "Global river clean-up",
        "start": _iso(now - timedelta(hours=2)),
        "end": _iso(now + timedelta(hours=1)),
        "timezone": "UTC",
        "targets": [{"metric": "kg_litter", "unit": "kg", "target": 5000}],
    }
    campaign_call = await create_action(services, who, "rivers", under_way)
    adopted = await adopt_action(services, who, campaign_call.ap_id, "greenpark")
    await create_report(
        services, who, adopted.ap_id, parse_metric_args(["kg_litter=1234:kg"], "counted"), None
    )
    start = (now + timedelta(days=3)).astimezone(NEW_YORK).replace(hour=18, minute=30, second=0)
    upcoming = {
        "title": "Riverbank <planting> day",
        "start": _iso(start),
        "end": _iso(start + timedelta(hours=3)),
        "timezone": "America/New_York",
        "place": "Hudson River Park",
    }
    next_call = await create_action(services, who, "rivers", upcoming)
    own = await create_action(services, who, "greenpark", {**upcoming, "title": "Park walk"})
    return PublicWorld(
        node=node,
        admin=ada.token,
        organiser=olga.token,
        campaign_call=campaign_call.ap_id,
        next_call=next_call.ap_id,
        greenpark_call=own.ap_id,
        chapter=greenpark.actor.ap_id,
        campaign=campaign.actor.ap_id,
    )
