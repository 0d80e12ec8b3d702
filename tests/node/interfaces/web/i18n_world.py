"""What the language tests of the pages share: a world with every kind of page, a visit to every
page as whoever may see it, the words a person sees on a page, and a pseudo-language whose
every msgid is marked ``⟦…⟧`` (tests/node/interfaces/web/test_i18n_pages.py,
tests/browser/test_journeys_languages.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from yarl import URL

from node.features.actors.invitations import create_invitation
from node.features.calls.lifecycle import create_action
from node.features.calls.rsvp import rsvp
from node.features.impact.campaigns import campaign_totals
from node.features.impact.reports import create_report, parse_metric_args
from node.features.notifications.preferences import update_member_settings
from node.features.notifications.unsubscribe import unsubscribe_url
from node.runtime.i18n import LOCALE_DIR, SHIPPED, Catalogues, language_name
from storage.repositories import actors as actor_repo
from tests.browser.world import (
    PASSWORD,
    call_data,
    campaign_world,
    principal,
    set_password,
)
from tests.rig.nodes import eventually

HTML = {"Accept": "text/html"}
OPEN, CLOSE = "⟦", "⟧"
TRANSLATED = [lang for lang in SHIPPED if lang != "en"]


# -- reading pages -------------------------------------------------------------------------------
class _Text(HTMLParser):
    """The words a person sees (or hears from a screen reader) on a page: text nodes, and the
    attributes that are read out or shown (titles, labels, placeholders, button values)."""

    #: A date (Babel's words), a command, what someone typed into a box.
    SKIPPED = frozenset({"script", "style", "code", "time", "textarea"})
    SHOWN_ATTRS = ("title", "aria-label", "placeholder", "alt")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip: list[str] = []
        self.html_lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.html_lang = found.get("lang")
        own_words = tag != "html" and found.get("lang")  # a language's name, in itself
        if tag in self.SKIPPED or own_words or found.get("translate") == "no":
            self._skip.append(tag)
            return
        if self._skip:
            return
        for name in self.SHOWN_ATTRS:
            if found.get(name):
                self.parts.append(str(found[name]))
        if tag == "input" and found.get("type") in ("submit", "button") and found.get("value"):
            self.parts.append(str(found["value"]))

    def handle_endtag(self, tag: str) -> None:
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(html: str) -> tuple[str, str | None]:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts), parser.html_lang


def without_marked(text: str) -> str:
    """The text with every marked (translated) span taken out, innermost first."""
    inner = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
    while True:
        shorter = inner.sub(" ", text)
        if shorter == text:
            return text
        text = shorter


# -- the pseudo-language: every msgid of the catalogue, marked -----------------------------------
def pseudo_catalogues(root: Path, code: str) -> Catalogues:
    """A catalogue directory where ``code`` says every msgid as ``⟦msgid⟧`` (the ``pages``
    domain, and ``messages`` for the notifications a page lists): whatever a page shows outside
    the marks did not come through a catalogue."""
    target = root / code / "LC_MESSAGES"
    target.mkdir(parents=True)
    for domain in ("pages", "messages"):
        if not (LOCALE_DIR / f"{domain}.pot").is_file():
            continue
        with (LOCALE_DIR / f"{domain}.pot").open("rb") as handle:
            template = read_po(handle)
        catalog = Catalog(locale=code, domain=domain)
        plurals = catalog.num_plurals
        for message in template:
            if not message.id:
                continue
            if isinstance(message.id, str):
                catalog.add(message.id, f"{OPEN}{message.id}{CLOSE}")
            else:
                one, many = (f"{OPEN}{form}{CLOSE}" for form in message.id[:2])
                catalog.add(message.id, tuple([one] + [many] * (plurals - 1)))
        with (target / f"{domain}.po").open("wb") as handle:
            write_po(handle, catalog)
    return Catalogues(root)


# -- a world with every kind of page to see ----------------------------------------------------
NAMES = {
    "Green Park Clean-up Crew",
    "We keep Green Park clean, one Saturday a month.",
    "Global day of action",
    "Green Park gates",
    "A litter-free park",
    "Pond clean-up",
    "litter pickers",
    "Climate Day",
    "Riverside Hub",
    "Chapter Node",
    "Done!",
    "participants",
    "people",
    "kg_litter",
    "kg litter",
}
#: Names of things, not words to translate: products, formats, and the languages' own names.
PROPER = {
    "NodeInfo",
    "Atom",
    "iCalendar",
    "Chapterhouse",
    "CSV",
    "JSON",
    "Leaflet",
    "OpenStreetMap",
}


class World:
    def __init__(self, hub, chapter_node, campaign, invite_token: str, pond_call: str) -> None:
        self.hub, self.node, self.campaign = hub, chapter_node, campaign
        self.invite_token, self.pond_call = invite_token, pond_call
        self.unsubscribe = ""


def english_sentences(language: str) -> list[str]:
    """The English a page in ``language`` must not show: the longest placeholder-free stretch
    of each msgid the catalogue translates, when it is sentence-like (a lone word may be the
    same in two languages)."""
    if language == "en":
        return []
    with (LOCALE_DIR / "pages.pot").open("rb") as handle:
        template = read_po(handle)
    translations = Catalogues().translations(language, "pages")
    found = []
    for message in template:
        if not message.id or not isinstance(message.id, str):
            continue
        if translations.gettext(message.id) == message.id:
            continue
        fragments = re.split(r"%\(\w+\)[sdr]|\{[^{}]*\}|<[^>]+>", message.id)
        fragment = max(fragments, key=len).strip(" .:,;")
        if len(fragment) >= 14 and " " in fragment and fragment not in NAMES:
            found.append(fragment)
    return found


async def build_world(nodes) -> World:
    hub = await nodes(node_name="Riverside Hub")
    chapter_node = await nodes(node_name="Chapter Node")
    world = await campaign_world(hub, chapter_node)
    await set_password(hub, "cora")
    await chapter_node.member("mia", chapter="greenpark")
    await set_password(chapter_node, "mia")
    olga = await principal(chapter_node, "olga")
    pond = await create_action(
        chapter_node.services,
        olga,
        "greenpark",
        call_data(
            "Pond clean-up",
            days=12,
            slots=[{"name": "litter pickers", "start": "10:00", "end": "12:00", "capacity": 8}],
        ),
    )
    await rsvp(chapter_node.services, await principal(chapter_node, "mia"), pond.ap_id)
    async with chapter_node.services.db.read() as session:
        greenpark = await actor_repo.local_actor_by_name(session, "greenpark")
    token = await create_invitation(chapter_node.services, olga, greenpark, "member")
    # A report on the campaign's call: the campaign page then has totals and charts.
    measures = parse_metric_args(["participants=12:people", "kg_litter=40:kg"], "counted")
    await create_report(chapter_node.services, olga, world.adopted_call, measures, "Done!")

    async def totals_in() -> bool:
        return bool((await campaign_totals(hub.services, "climate")).history)

    await eventually(totals_in, timeout=30, what="the campaign's totals")
    built = World(hub, chapter_node, world, token, pond.ap_id)
    mia = await update_member_settings(chapter_node.services, "mia", email="mia@example.org")
    built.unsubscribe = unsubscribe_url(chapter_node.services, mia.id, "mia@example.org")
    return built


async def csrf_of(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url, headers=HTML) as resp:
        found = re.search(r'name="csrf" value="([^"]+)"', await resp.text())
    assert found, url
    return found.group(1)


async def signed_in(base: str, name: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    token = await csrf_of(http, f"{base}/login")
    async with http.post(
        f"{base}/login", headers=HTML, data={"csrf": token, "name": name, "password": PASSWORD}
    ) as resp:
        assert resp.status == 200 and str(resp.url).endswith("/me"), await resp.text()
    return http


async def every_page(world: World, lang: str) -> list[tuple[str, int, str]]:
    """(url, status, html) of every page of both nodes, seen by whoever may see it, in
    ``lang`` (asked for with ``?lang=``)."""
    node, hub = world.node, world.hub
    base, hub_base = node.base_url, hub.base_url
    adopted, campaign_call = world.campaign.adopted_call, world.campaign.campaign_call
    instance = (await node.services.instance_actor()).ap_id
    anonymous = [
        f"{base}/",
        f"{base}/login",
        f"{base}/actors/greenpark",
        f"{base}/actors/olga",
        adopted,
        world.pond_call,
        f"{base}/invite/{world.invite_token}",
        f"{base}/no/such/page",
        f"{hub_base}/",
        f"{hub_base}/actors/climate",
        f"{hub_base}/actors/climate/verify",
        campaign_call,
        instance,
        f"{base}/directory",
        f"{base}/directory?q=nothing+matches+this",
        f"{hub_base}/actors/climate/widget",
        world.unsubscribe,
    ]
    as_olga = [
        f"{base}/me",
        f"{base}/actors/greenpark/manage",
        f"{base}/actors/greenpark/actions/new",
        f"{adopted}/edit",
        f"{adopted}/cancel",
        f"{adopted}/checkin",
        f"{adopted}/report",
        f"{world.pond_call}/checkin",
        world.pond_call,
        f"{base}/actors/greenpark",
        f"{base}/actors/olga",
        f"{base}/authorize_interaction?uri={base}/actors/greenpark",
    ]
    as_mia = [f"{base}/me", world.pond_call, f"{base}/actors/mia"]
    as_root = [f"{base}/admin"]
    as_cora = [f"{hub_base}/actors/climate", f"{hub_base}/actors/climate/actions/new"]
    seen: list[tuple[str, int, str]] = []

    async def visit(http: aiohttp.ClientSession, urls: Iterable[str]) -> None:
        for url in urls:
            joined = f"{url}{'&' if '?' in url else '?'}lang={lang}"
            async with http.get(joined, headers=HTML) as resp:
                seen.append((url, resp.status, await resp.text()))

    async with aiohttp.ClientSession() as http:
        await visit(http, anonymous)
    for who, urls, where in (
        ("olga", as_olga, base),
        ("mia", as_mia, base),
        ("root", as_root, base),
        ("cora", as_cora, hub_base),
    ):
        http = await signed_in(where, who)
        try:
            await visit(http, urls)
            if who == "root":  # the confirmation page of an admin's revocation
                token = await csrf_of(http, f"{base}/admin")
                async with http.post(
                    f"{base}/admin/members/revoke?lang={lang}",
                    headers=HTML,
                    data={"csrf": token, "member": "mia", "what": "sessions"},
                ) as resp:
                    seen.append(("/admin/members/revoke", resp.status, await resp.text()))
        finally:
            await http.close()
    return seen


#: Page-module routes that answer with something other than a page.
NOT_PAGES = {
    "/actors/{name}/actions/{ulid}/participants.csv",
    "/actors/{name}/reports.csv",
    "/me/export",
    "/actors/{name}/widget.svg",
}


def unvisited_pages(node, urls: Iterable[str]) -> list[str]:
    """The page modules' GET routes that none of ``urls`` reaches: a page added since, which
    this test does not render yet."""
    paths = [URL(url).path for url in urls if url.startswith("http")]
    missing = []
    for route in node.runner.app.router.routes():
        if route.method != "GET" or route.resource is None:
            continue
        if not getattr(route.handler, "__module__", "").startswith("node.interfaces.web"):
            continue
        canonical = route.resource.canonical
        matched = any(route.resource._match(path) is not None for path in paths)
        if canonical not in NOT_PAGES and not matched:
            missing.append(canonical)
    return missing


def allowed_words(world: World, lang: str) -> set[str]:
    """Words a page may show that no catalogue says: what this test created (names, titles,
    places), the nodes' addresses, and the locale's own month and day names."""
    words: set[str] = set()
    for text in NAMES | PROPER:
        words.update(re.findall(r"[^\W\d_]+", text))
    for name in ("greenpark", "climate", "olga", "mia", "root", "cora", "instance"):
        words.add(name)
    locale = Locale.parse(lang)
    for table in (locale.months, locale.days):
        for context in table.values():
            for width in context.values():
                for value in width.values():
                    words.update(re.findall(r"[^\W\d_]+", value))
    for code in SHIPPED:
        words.update(re.findall(r"[^\W\d_]+", language_name(code)))
    return {w.lower() for w in words}


DATA = [
    re.compile(r"https?://\S+"),  # addresses
    re.compile(r"@?[\w.-]+@[\w.:-]+"),  # handles
    re.compile(r"\b[A-Z][A-Za-z_]+/[A-Za-z_/+-]+\b"),  # time zones (Europe/London)
    re.compile(r"\bUTC\b"),
]


def leftover_words(text: str, allowed: set[str]) -> list[str]:
    rest = without_marked(text)
    for pattern in DATA:
        rest = pattern.sub(" ", rest)
    return sorted({w for w in re.findall(r"[^\W\d_]+", rest) if w.lower() not in allowed})
