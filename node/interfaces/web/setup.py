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
    checkin,
    interaction,
    member,
    notifications,
    organiser,
    public,
)
from node.interfaces.web.call_cache import ParsedCalls
from node.interfaces.web.session import setup_sessions
from node.runtime.appkeys import PARSED_CALLS
from node.runtime.services import Services
from protocol.wording import measure_text, number_text, plural

STATIC = Path(__file__).resolve().parent / "static"


def setup_web(app: web.Application, services: Services) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("node.interfaces.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
    )
    # Every page's words go through gettext: {{ _("Text") }} or {% trans %}…{% endtrans %}.
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    # Counts and amounts in words: {{ n | plural("follower") }}, {{ t.target | number }}.
    env.filters.update(plural=plural, number=number_text, measure=measure_text)
    setup_sessions(
        app, services.settings.data_dir, secure=services.settings.base_url.startswith("https://")
    )
    app[PARSED_CALLS] = ParsedCalls()
    app.router.add_static("/static", STATIC)
    # The page modules' routes never overlap (each path's literal parts differ), so their order
    # decides no match; within each module they keep the order they had in the one pages module.
    for page_routes in (
        public.routes,
        auth.routes,
        member.routes,
        organiser.routes,
        call_changes.routes,
        checkin.routes,
        admin.routes,
        interaction.routes,
        notifications.routes,
    ):
        app.add_routes(page_routes)
