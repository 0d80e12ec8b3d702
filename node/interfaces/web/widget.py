"""A campaign's numbers on anyone's web site: ``/actors/{campaign}/widget`` and ``widget.svg``.

``widget`` is a small page for an ``<iframe>``: the totals against the campaign's targets and
its next calls (each in its own time zone, by name). It is the one page other sites may frame
(``Content-Security-Policy: frame-ancestors *``); it has no form, no script and nothing a
signed-in visitor could be tricked into doing, so framing it is harmless (every other
page stays unframeable, node/interfaces/middlewares.py). ``widget.svg`` is a badge image.
Neither sets a cookie (``no_cookies``): a session cookie in a shared cache would be shared.

Both are public (the campaign page shows the same numbers), cheap (running sums and stored
call documents: node/features/impact/glance.py) and cached: ``Cache-Control: public,
max-age=60``, an ``ETag`` of the bytes and ``304`` for ``If-None-Match``. Both speak the
reader's language: the widget the page's (node/interfaces/web/language.py), the badge only what
an ``<img>`` can say, ``?lang=`` then ``Accept-Language`` (never the cookie or the member: it is
cached for everyone, ``Vary: Accept-Language``, so each language has its own bytes and ETag).
Campaign titles and
call names are user input: autoescaped, and stripped of characters XML cannot carry, so the
SVG always parses and never runs anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from babel import Locale

from node.features.actors.authz import NotFoundError
from node.features.impact.glance import NEXT_CALLS, Glance, campaign_glance
from node.interfaces.api.public import CORS, conditional
from node.interfaces.web.charts import number_text
from node.interfaces.web.language import PageLanguage, template_helpers, translator
from node.interfaces.web.localise import number, span
from node.runtime.appkeys import PARSED_CALLS, SERVICES
from node.runtime.errors import HttpError
from node.runtime.i18n import SOURCE, choose_language
from protocol.events import ActionCall
from protocol.wording import measure_text

routes = web.RouteTableDef()

CACHE = "public, max-age=60"
WIDGET, BADGE = "campaign-widget", "campaign-badge"  # route names
#: Only framing is opened up; the widget loads its style sheet and nothing else.
WIDGET_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors *"
)
BADGE_CSP = "default-src 'none'"
#: Characters XML 1.0 cannot carry (a title holding one would break the SVG).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
SPACES = re.compile("[ \t\n\r]+")
TITLE_CHARS = 40  # the badge's label is cut here
BADGE_TOTALS = 2  # totals the badge names
CHAR_WIDTH = 7  # px per character at the badge's 11px font (generous, so text never spills)
PAD = 10


def xml_text(text: str, limit: int | None = None) -> str:
    """``text`` as XML may carry it, cut to ``limit`` characters (with an ellipsis)."""
    # Only ASCII runs collapse: a no-break space (French thousands) is kept.
    clean = SPACES.sub(" ", NOT_XML.sub("", text)).strip(" ")
    if limit is not None and len(clean) > limit:
        clean = clean[: limit - 1].rstrip() + "…"
    return clean


def amount_text(speaker: PageLanguage, amount: Decimal | float, unit: str, metric: str) -> str:
    """``1,234 kg litter`` / ``1 234 kg litter``: the amount grouped as the reader's language
    groups it, then its unit and metric words as the organisers wrote them."""
    words = measure_text(amount, unit, metric).split(" ", 1)[1]
    shown = number_text(float(amount)) if speaker.code == SOURCE else number(speaker, amount)
    return f"{shown} {words}"


def badge_language(request: web.Request) -> PageLanguage:
    """The badge's language: ``?lang=``, then the ``Accept-Language`` an ``<img>`` sends, then
    the node's default. Not the cookie nor a member's setting: the badge is cached publicly
    and varies by ``Accept-Language`` only."""
    services = request.app[SERVICES]
    code = choose_language(
        None,
        request.headers.get("Accept-Language"),
        services.settings.default_language,
        asked=request.query.get("lang"),
    )
    return PageLanguage(code, services.catalogues.translations(code, "pages"), Locale(code))


async def _glance(request: web.Request) -> Glance:
    services = request.app[SERVICES]
    try:
        return await campaign_glance(services, request.match_info["name"], services.clock.now())
    except NotFoundError as exc:
        raise HttpError(404, str(exc)) from exc


def _calls(request: web.Request, stored: Iterable[tuple[str, str]]) -> list[ActionCall]:
    parsed = request.app[PARSED_CALLS]
    allow_http = request.app[SERVICES].settings.allow_http
    return [parsed.get(ap_id, text, allow_http=allow_http)[0] for ap_id, text in stored]


def _rows(speaker: PageLanguage, glance: Glance, calls: list[ActionCall]) -> list[dict[str, Any]]:
    """Each total against its target (the campaign's calls set them), then the targets
    nothing was reported towards yet."""
    targets: dict[tuple[str, str], float] = {}
    for call in calls:
        for t in call.targets:
            targets[(t.metric, t.unit)] = t.target
    rows = []
    for metric, unit, amount in glance.totals:
        target = targets.pop((metric, unit), None)
        rows.append(_row(speaker, metric, unit, float(amount), target))
    rows.extend(_row(speaker, m, u, 0.0, t) for (m, u), t in sorted(targets.items()))
    return rows


def _row(
    speaker: PageLanguage, metric: str, unit: str, amount: float, target: float | None
) -> dict[str, Any]:
    return {
        "metric": metric,
        "amount": amount_text(speaker, amount, unit, metric),
        "target": amount_text(speaker, target, unit, metric) if target else None,
        "value": min(amount, target) if target else amount,
        "max": target or None,
    }


async def no_cookies(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the widget and the badge never set a cookie. Their answers are
    ``public`` (a shared cache may keep them), so a session cookie a middleware started for
    them (the page language's CSRF token) would be handed to every visitor of the cache."""
    if request.match_info.route.name in {WIDGET, BADGE}:
        response.headers.popall("Set-Cookie", None)


@routes.get("/actors/{name}/widget", name=WIDGET)
async def widget(request: web.Request) -> web.Response:
    glance = await _glance(request)
    upcoming = _calls(request, glance.upcoming)
    actor = glance.campaign
    speaker = await translator(request)  # the call's time in the page's language and its zone
    next_calls = [
        {
            "title": call.title,
            "when": span(speaker, call.start, call.end, call.timezone),
            "place": call.place.name if call.place else None,
            "online": call.place is None and call.online_url is not None,
            "url": call.url or call.id,
        }
        for call in upcoming
        if not call.cancelled
    ][:NEXT_CALLS]
    context = {
        "actor": actor,
        "title": xml_text(actor.title or actor.name),
        "rows": _rows(speaker, glance, upcoming + _calls(request, glance.past)),
        "chapter_count": glance.chapter_count,
        "calls": next_calls,
        "node_name": request.app[SERVICES].settings.node_name,
    }
    body = aiohttp_jinja2.render_string("widget.html", request, context).encode()
    headers = {"Content-Security-Policy": WIDGET_CSP, "X-Content-Type-Options": "nosniff"}
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return conditional(request, body, "text/html", cache=CACHE, headers=headers, charset="utf-8")


@routes.get("/actors/{name}/widget.svg", name=BADGE)
async def badge(request: web.Request) -> web.Response:
    glance = await _glance(request)
    actor = glance.campaign
    speaker = badge_language(request)
    label = xml_text(actor.title or actor.name, TITLE_CHARS)
    shown = glance.totals[:BADGE_TOTALS]
    amounts = [xml_text(amount_text(speaker, v, u, m)) for m, u, v in shown]
    context = {
        **template_helpers(request, speaker),
        "label": label,
        "amounts": amounts or None,
        "chapter_count": glance.chapter_count,
        "char_width": CHAR_WIDTH,
        "pad": PAD,
    }
    body = aiohttp_jinja2.render_string("widget.svg", request, context).encode()
    headers = {
        **CORS,
        "Content-Security-Policy": BADGE_CSP,
        "X-Content-Type-Options": "nosniff",
        "Content-Language": speaker.code,
        "Vary": "Accept-Language",
    }
    return conditional(request, body, "image/svg+xml", cache=CACHE, headers=headers)
