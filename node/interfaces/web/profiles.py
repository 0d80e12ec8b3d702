"""The HTML faces of /actors/{name} for the actors that are not groups: members and the node.

A member (``Person``) gets a profile: their name, their chapters, and their commitments if they
chose to show them. The instance actor (``Application``) gets a page that says what this node is
and lists its chapters and campaigns. Neither has calls of its own, so neither advertises the
Atom and iCalendar feeds a chapter's page does (those exist for chapters and campaigns only).
"""

from __future__ import annotations

from aiohttp import web

from node.features.actors.directory import local_actors_of_kind
from node.features.actors.people import person_profile
from node.interfaces.web.common import current, page
from node.runtime.appkeys import SERVICES
from storage.models import LocalActor
from storage.models.states import ActorKind


async def person_page(request: web.Request, actor: LocalActor) -> web.Response:
    """A member's public profile."""
    services = request.app[SERVICES]
    profile = await person_profile(services, actor, services.clock.now())
    who = await current(request)
    return await page(
        request,
        "person.html",
        actor=actor,
        profile=profile,
        own=who is not None and who.actor.id == actor.id,
    )


async def instance_page(request: web.Request, actor: LocalActor) -> web.Response:
    """The node itself: what it is, and the chapters and campaigns it hosts."""
    services = request.app[SERVICES]
    chapters = await local_actors_of_kind(services, [ActorKind.CHAPTER])
    campaigns = await local_actors_of_kind(services, [ActorKind.CAMPAIGN])
    return await page(request, "instance.html", actor=actor, chapters=chapters, campaigns=campaigns)
