"""Which language a page is rendered in, per request, and the switcher that changes it.

The choice, in order: ``?lang=`` on this request (an explicit ask, e.g. a shared link), then the
signed-in member's own setting (``local_actors.language``), then the ``lang`` cookie the
switcher sets for everyone else, then ``Accept-Language``, then the node's ``default_language``
(node/runtime/i18n.py ``choose_language``; only a shipped language is ever chosen).

Requests interleave on one event loop, so the shared Jinja environment is never given a
language: each render gets its own ``gettext``/``ngettext``/``_`` in its *context* (Jinja looks
names up in the context before the globals the i18n extension installed), with the same
"newstyle" rules as the extension: the translation is a format string (``%(name)s``), escaped
values are substituted into it, and autoescaping applies. Every HTML answer then says which
language it is in (``Content-Language``) and what chose it (``Vary``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web
from aiohttp_jinja2 import REQUEST_CONTEXT_KEY
from aiohttp_session import get_session
from babel import Locale
from babel.support import NullTranslations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from node.features.actors.authz import NotFoundError
from node.features.actors.language import UnknownLanguage, set_member_language
from node.interfaces.web.session import check_csrf, signed_in_member
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from node.runtime.i18n import SHIPPED, choose_language, language_name, shipped

routes = web.RouteTableDef()

COOKIE: Final = "lang"
COOKIE_MAX_AGE: Final = 365 * 24 * 3600
#: Where the request's chosen language is kept (a plain request key: per request, never shared).
REQUEST_KEY: Final = "chapterhouse.page_language"
#: What every HTML answer varies by, besides what a handler adds.
VARY: Final = ("Accept", "Accept-Language", "Cookie")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class PageLanguage:
    """One request's language: its code, its gettext and its Babel locale (for dates and
    numbers)."""

    code: str
    translations: NullTranslations
    locale: Locale

    def gettext(self, message: str, /, **variables: Any) -> str:
        """``message`` in this language, ``%(name)s`` filled from ``variables`` when given."""
        text = self.translations.gettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, n: int, /, **variables: Any) -> str:
        """The form for ``n`` (this language's plural rules), ``%(num)s`` and the rest filled."""
        variables.setdefault("num", n)
        return self.translations.ngettext(singular, plural, n) % variables


def _gettext(speaker: PageLanguage) -> Callable[..., str]:
    @pass_context
    def gettext(__context: Context, __string: str, **variables: Any) -> str:
        text: str = speaker.translations.gettext(__string)
        if __context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 (the catalogue's words are ours, not input)
        return text % variables  # always a format string, as the i18n extension's newstyle

    return gettext


def _ngettext(speaker: PageLanguage) -> Callable[..., str]:
    @pass_context
    def ngettext(
        __context: Context, __singular: str, __plural: str, __num: int, **variables: Any
    ) -> str:
        variables.setdefault("num", __num)
        text: str = speaker.translations.ngettext(__singular, __plural, __num)
        if __context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 (the catalogue's words are ours, not input)
        return text % variables

    return ngettext


def template_helpers(request: web.Request, speaker: PageLanguage) -> dict[str, Any]:
    """What every template of this request gets: the gettext family bound to its language,
    the language itself, the switcher's choices and the address to come back to."""
    gettext = _gettext(speaker)
    return {
        "gettext": gettext,
        "_": gettext,
        "ngettext": _ngettext(speaker),
        # For words that arrive as data (an error's detail): looked up, never formatted.
        "translated": speaker.translations.gettext,
        "i18n": speaker,
        "lang": speaker.code,
        "languages": [(code, language_name(code)) for code in SHIPPED],
        "here": _here(request),
    }


def _here(request: web.Request) -> str:
    """Where the switcher comes back to: this page, without its ``?lang=`` (which would
    otherwise outvote the language just chosen); after a form post, the form's own address."""
    if request.method not in ("GET", "HEAD"):
        return request.path
    kept = [(key, value) for key, value in request.rel_url.query.items() if key != "lang"]
    return str(request.rel_url.with_query(kept))


async def page_language(request: web.Request) -> PageLanguage:
    """The request's language (chosen once, then kept on the request), with the template
    helpers that speak it put where ``aiohttp_jinja2`` merges them into every render."""
    found = request.get(REQUEST_KEY)
    if isinstance(found, PageLanguage):
        return found
    services = request.app[SERVICES]
    who = await signed_in_member(request)
    setting = shipped(who.actor.language) if who is not None else None
    code = choose_language(
        setting or request.cookies.get(COOKIE),
        request.headers.get("Accept-Language"),
        services.settings.default_language,
        asked=request.query.get("lang"),
    )
    speaker = PageLanguage(code, services.catalogues.translations(code, "pages"), Locale(code))
    request[REQUEST_KEY] = speaker
    helpers = template_helpers(request, speaker)
    if request.get(REQUEST_CONTEXT_KEY):
        request[REQUEST_CONTEXT_KEY].update(helpers)
    else:
        request[REQUEST_CONTEXT_KEY] = helpers
    return speaker


async def translator(request: web.Request) -> PageLanguage:
    """For page modules: the words they put on a page (flashes, errors) in its language."""
    return await page_language(request)


def _wants_a_page(request: web.Request) -> bool:
    """Only a browser's request can end in an HTML page (or an HTML error page)."""
    return "text/html" in request.headers.get("Accept", "") and not request.path.startswith(
        ("/api/", "/static/")
    )


@web.middleware
async def language_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Choose the language before the handler runs, so that an error page rendered for this
    request (node/interfaces/middlewares.py) speaks it too; API, inbox and feed requests
    (no ``text/html`` in ``Accept``) skip the choice and pay nothing for it."""
    if _wants_a_page(request):
        await page_language(request)
        # The switcher's form on an error page posts with the session's token, if there is
        # one; no session is started here (embeddable pages must set no cookie).
        token = (await get_session(request)).get("csrf")
        request[REQUEST_CONTEXT_KEY].setdefault("csrf", token if isinstance(token, str) else "")
    return await handler(request)


async def language_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: an HTML answer in a chosen language says so, and varies by
    what chose it (the browser's languages and the cookie)."""
    speaker = request.get(REQUEST_KEY)
    if not isinstance(speaker, PageLanguage) or response.content_type != "text/html":
        return
    response.headers["Content-Language"] = speaker.code
    present = [v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()]
    wanted = present + [v for v in VARY if v.lower() not in {p.lower() for p in present}]
    response.headers["Vary"] = ", ".join(wanted)


def _local_path(target: str) -> str:
    """Where to go back to after switching: a path on this node only (never ``//host``)."""
    safe = target.isprintable() and "\\" not in target
    if safe and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@routes.post("/language")
async def switch_language(request: web.Request) -> web.Response:
    """The switcher on every page: remember the language in a cookie and, for a signed-in
    member, in their setting; then back to the page it was pressed on."""
    form = await check_csrf(request)
    services = request.app[SERVICES]
    speaker = await page_language(request)
    code = shipped(form.get("lang", ""))
    if code is None:
        raise HttpError(
            400,
            speaker.gettext(
                "Choose one of these languages: %(languages)s.", languages=", ".join(SHIPPED)
            ),
        )
    who = await signed_in_member(request)
    if who is not None:
        try:
            await set_member_language(services, who.actor.id, code)
        except (NotFoundError, UnknownLanguage) as exc:
            raise HttpError(403, str(exc)) from exc
    response = web.HTTPSeeOther(_local_path(form.get("next", "/")))
    response.set_cookie(
        COOKIE,
        code,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=services.settings.base_url.startswith("https://"),
    )
    raise response


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue where it is defined (a constant); it is translated
    where it is shown (``PageLanguage.gettext``)."""
    return message


#: English, for what is worded outside a request (a page module's helper called without one).
ENGLISH: Final = PageLanguage("en", NullTranslations(), Locale("en"))
