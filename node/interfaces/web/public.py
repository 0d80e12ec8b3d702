"""Pages anyone may see: the front page, chapters and campaigns, action calls, verification.

``actor_page`` and ``call_page`` are the HTML faces of ``/actors/{name}`` and of an action call;
the ActivityPub routes (node/interfaces/activitypub) call them when a browser asks, so they are
plain functions here rather than routes. Every page escapes what it shows (Jinja autoescape);
the only HTML passed through is content already cleaned by the allow-list on the way in.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.features.actors.directory import is_organiser, local_actors_of_kind
from node.features.actors.names import Person, names_of
from node.features.actors.profile import actor_overview, node_upcoming_calls
from node.features.calls.checkin_code import member_checkin
from node.features.calls.lifecycle import call_from_row
from node.features.calls.lookup import call_viewer
from node.features.following.remote import RemoteFollowUnavailable, remote_follow_url
from node.features.impact.campaigns import campaign_totals
from node.features.impact.chapter_impact import chapter_impact
from node.features.impact.exclusions import list_exclusions, members
from node.features.impact.member_chapters import adopted_call_points, member_chapters
from node.features.impact.verifications import StoredVerdict, verification_status
from node.features.impact.verify import MISMATCH, UNVERIFIABLE, VERIFIED
from node.interfaces.web.call_changes import call_changes_context
from node.interfaces.web.call_language import reader_languages
from node.interfaces.web.charts import metric_charts, progress_bars, zone_named
from node.interfaces.web.common import back, current, flash, named_actor, page
from node.interfaces.web.language import N_, PageLanguage, translator
from node.interfaces.web.localise import call_summary, slots
from node.interfaces.web.maps import campaign_map, map_page, place_line
from node.interfaces.web.past_call import past_call
from node.interfaces.web.profiles import instance_page, person_page
from node.interfaces.web.session import check_csrf
from node.interfaces.web.words import said
from node.runtime.appkeys import PARSED_CALLS, SERVICES
from protocol.errors import MalformedDocument
from protocol.events import call_text
from storage.models import ActionCall as CallRow
from storage.models import LocalActor
from storage.models.states import ActorKind

routes = web.RouteTableDef()


FRONT_CALLS = 10  # upcoming calls the front page lists


@routes.get("/")
async def front(request: web.Request) -> web.Response:
    """The node's chapters and campaigns, and its next calls across all of them (each in its
    own zone's local time, with the chapter that calls it)."""
    services = request.app[SERVICES]
    chapters = await local_actors_of_kind(services, [ActorKind.CHAPTER])
    campaigns = await local_actors_of_kind(services, [ActorKind.CAMPAIGN])
    parsed = request.app[PARSED_CALLS]
    allow_http = services.settings.allow_http
    stored = await node_upcoming_calls(services, services.clock.now(), limit=FRONT_CALLS)
    calls = [parsed.get(ap_id, text, allow_http=allow_http) for ap_id, text in stored]
    people = await names_of(services, [c.chapter for c, _ in calls])
    t = await translator(request)
    upcoming = [_view(t, c, s, people.get(c.chapter)) for c, s in calls]
    return await page(
        request, "front.html", chapters=chapters, campaigns=campaigns, upcoming=upcoming
    )


async def actor_page(request: web.Request, actor: LocalActor) -> web.Response:
    """The HTML face of /actors/{name}: a chapter or campaign here; members and the instance
    actor have their own pages (node/interfaces/web/profiles.py)."""
    if actor.kind == ActorKind.MEMBER:
        return await person_page(request, actor)
    if actor.kind == ActorKind.INSTANCE:
        return await instance_page(request, actor)
    services = request.app[SERVICES]
    who = await current(request)
    now = services.clock.now()
    overview = await actor_overview(services, actor, who, now)
    parsed = request.app[PARSED_CALLS]
    allow_http = services.settings.allow_http
    calls = [parsed.get(ap_id, stored, allow_http=allow_http) for ap_id, stored in overview.calls]
    t = await translator(request)
    upcoming = [_view(t, c, s) for c, s in calls if c.end >= now]
    past = [_view(t, c, s) for c, s in calls if c.end < now]
    organiser = await is_organiser(services, who, actor)
    if actor.kind == ActorKind.CAMPAIGN:
        totals = await campaign_totals(services, actor.name)
        targets = {(t.metric, t.unit): t.target for c, _ in calls for t in c.targets}
        measured: list[tuple[str, str, float]] = [
            (str(t["metric"]), str(t["unit"]), float(str(t["value"]))) for t in totals.totals
        ]
        bars = progress_bars(
            [(f"{m} ({u})", amount, targets.get((m, u))) for m, u, amount in measured], t
        )
        history = metric_charts(totals.history, zone_named(actor.timezone), t)
        shown_targets = {k: json_number_text(v) for k, v in targets.items()}
        # What the totals leave out is public (the signed rollup lists it); members and the
        # forms are for the campaign's organisers.
        found = await members(services, actor.name) if organiser else []
        joined = await member_chapters(services, actor)  # public: the rollup names them too
        points = await adopted_call_points(services, actor, allow_http=allow_http)
        people = await names_of(
            services,
            [*totals.chapters, *(m.chapter for m in found), *(c.iri for c in joined)],
        )
        member_rows = [{"chapter": people[m.chapter], "state": m.state} for m in found]
        return await map_page(
            request,
            "campaign.html",
            chapters=[{"chapter": people[c.iri], "place": place_line(c.place)} for c in joined],
            map_data=campaign_map(services.settings, points, people) if points else None,
            actor=actor,
            upcoming=upcoming,
            past=past,
            totals=totals,
            targets=shown_targets,
            bars=bars,
            history_charts=history,
            organiser=organiser,
            members=member_rows,
            people=people,
            exclusions=await list_exclusions(services, actor.name),
        )
    impact = await chapter_impact(services, actor.ap_id)
    return await page(
        request,
        "chapter.html",
        actor=actor,
        followers=overview.followers,
        following_state=overview.following_state,
        upcoming=upcoming,
        past=past,
        impact=impact,
        organiser=organiser,
    )


def json_number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _view(
    t: PageLanguage, call: Any, summary: str, chapter: Person | None = None
) -> dict[str, Any]:
    """A call as the call lists show it; ``chapter`` names who calls it, where the list mixes
    chapters (the front page). The summary is in the page's language (the cached English one
    otherwise)."""
    return {
        "id": call.id,
        "chapter": chapter,
        "title": call.title,
        "summary": summary if t.code == "en" else call_summary(t, call),
        "cancelled": call.cancelled,
        "participant_count": call.participant_count,
        "capacity": call.capacity,
    }


async def call_page(request: web.Request, row: CallRow) -> web.Response:
    """The HTML face of a local action call (/actors/{name}/actions/{ulid})."""
    services = request.app[SERVICES]
    call = call_from_row(row, services)
    who = await current(request)
    t = await translator(request)
    commitment = None
    organiser = False
    if who is not None:
        viewer = await call_viewer(services, who, row, call.id)
        commitment, organiser = viewer.commitment, viewer.organiser
    map_url = None
    if (
        call.place is not None
        and call.place.latitude is not None
        and call.place.longitude is not None
    ):
        map_url = (
            f"https://www.openstreetmap.org/?mlat={call.place.latitude}&mlon={call.place.longitude}"
            f"#map=17/{call.place.latitude}/{call.place.longitude}"
        )
    return await page(
        request,
        "call.html",
        call=call,
        shown=call_text(call, reader_languages(request)),  # the reader's language, if it has it
        chapter=(await names_of(services, [call.chapter]))[call.chapter],
        summary=call_summary(t, call),
        map_url=map_url,
        slots=slots(t, call),  # each shift or role: when, role, places left
        commitment=commitment,
        organiser=organiser,
        past=await past_call(services, call, services.clock.now()),  # "N came", the report
        checkin=await member_checkin(services, who, row),  # the check-in code form
        # The cancellation's reason; an adopted call's conflicts with its campaign's call.
        **await call_changes_context(request, row, organiser),
    )


@routes.post("/actors/{name}/remote-follow")
async def remote_follow(request: web.Request) -> web.Response:
    """Remote interaction: send a fediverse user to their own server's follow page."""
    form = await check_csrf(request)
    actor = await named_actor(request)
    services = request.app[SERVICES]
    t = await translator(request)
    try:
        url = await remote_follow_url(services, form.get("handle", ""), actor.name)
    except MalformedDocument as exc:
        await flash(request, said(t, exc))
        raise back(actor.ap_id) from exc
    except RemoteFollowUnavailable as exc:  # we cannot send them there; say so
        await flash(
            request,
            t.gettext(
                "%(reason)s; search for %(handle)s in your app instead.",
                reason=said(t, exc),
                handle="@" + actor.name + "@" + services.ids.authority,
            ),
        )
        raise back(actor.ap_id) from None
    raise web.HTTPFound(url)


HEADINGS = {
    VERIFIED: N_("Verified: every number checks out"),
    MISMATCH: N_("Mismatch found"),
    UNVERIFIABLE: N_("Could not check everything"),
}


def _verdict_view(t: PageLanguage, stored: StoredVerdict) -> dict[str, Any]:
    """A stored verdict as the page shows it: heading, summary line, everything listed."""
    result = stored.result
    excluded = result.get("excluded") or []
    left_out = [
        {"source": e["report"], "problem": t.gettext("excluded: %(reason)s", reason=e["reason"])}
        for e in excluded
    ]
    unchecked = [
        {
            "source": u["source"],
            "problem": t.gettext("could not be fetched: %(error)s", error=u["error"]),
        }
        for u in result.get("unreachable") or []
    ]
    checked = t.ngettext(
        "%(num)s of %(sources)s signed reports check out;",
        "%(num)s of %(sources)s signed reports check out;",
        int(result.get("sources", 0) or 0),
        num=result.get("checked", 0),
        sources=result.get("sources", 0),
    )
    left = t.ngettext(
        "%(num)s left out, each listed with its reason.",
        "%(num)s left out, each listed with its reason.",
        len(excluded),
    )
    return {
        "heading": t.gettext(HEADINGS.get(str(result.get("verdict")), N_("Checked"))),
        "text": f"{checked} {left}",
        "problems": list(result.get("problems") or []) + unchecked + left_out,
        "version": stored.version,
        "computed_at": stored.computed_at,
    }


@routes.get("/actors/{name}/verify")
async def verify_page(request: web.Request) -> web.Response:
    """The same check as ``chapterhouse verify`` on this campaign's own rollup, as stored.

    Checking fetches every report the rollup counts, so it runs once per rollup version in the
    background (``features/impact/verifications``); a visit only reads the stored verdict (the
    first visit to a new version asks for it). JSON for ``Accept: application/json``."""
    actor = await named_actor(request)
    services = request.app[SERVICES]
    status = await verification_status(services, actor.name)
    t = await translator(request)
    if "application/json" in request.headers.get("Accept", ""):
        response = web.json_response(status.as_json())
        response.headers["Vary"] = "Accept"
        return response
    return await page(
        request,
        "verify.html",
        actor=actor,
        status=status,
        current=_verdict_view(t, status.current) if status.current else None,
        previous=_verdict_view(t, status.previous) if status.previous else None,
    )
