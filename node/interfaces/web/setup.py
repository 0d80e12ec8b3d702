"""Wiring the pages into the app: templates, encrypted-cookie sessions, static files."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from node.interfaces.web import (
    admin,
    auth,
    call_changes,
    chapter_settings,
    checkin,
    exports,
    interaction,
    language,
    member,
    notifications,
    organiser,
    public,
    widget,
)
from node.interfaces.web.call_cache import ParsedCalls
from node.interfaces.web.localise import FILTERS
from node.interfaces.web.session import setup_sessions
from node.runtime.appkeys import PARSED_CALLS
from node.runtime.services import Services

STATIC = Path(__file__).resolve().parent / "static"


def setup_web(app: web.Application, services: Services) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("node.interfaces.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
    )
    # Every page's words go through gettext: {{ _("Text") }} or {% trans %}…{% endtrans %}.
    # These null translations are only the fallback: each render gets its request's own
    # gettext in its context (node/interfaces/web/language.py), never in the shared globals.
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    # Counts, amounts and times in the page's language: {{ n | plural("follower") }},
    # {{ t.target | number }}, {{ when | datetime(zone) }}, {{ call | summary }}.
    env.filters.update(FILTERS)
    setup_sessions(
        app, services.settings.data_dir, secure=services.settings.base_url.startswith("https://")
    )
    # The language is chosen before each page's handler runs (inside the sessions, which it
    # reads), so that an error page speaks it too.
    app.middlewares.append(language.language_middleware)
    app.on_response_prepare.append(language.language_headers)
    app.on_response_prepare.append(widget.no_cookies)  # public, cacheable: no session
    app[PARSED_CALLS] = ParsedCalls()
    app.router.add_static("/static", STATIC)
    # The page modules' routes never overlap (each path's literal parts differ), so their order
    # decides no match; within each module they keep the order they had in the one pages module.
    for page_routes in (
        public.routes,
        auth.routes,
        member.routes,
        organiser.routes,
        chapter_settings.routes,
        call_changes.routes,
        checkin.routes,
        admin.routes,
        interaction.routes,
        notifications.routes,
        widget.routes,
        exports.routes,
        language.routes,  # the language switcher on every page
    ):
        app.add_routes(page_routes)
