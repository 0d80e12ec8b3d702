"""Accessibility basics on every page, the stylesheet's contrast, and pages whose database work
stays flat as a chapter's calls grow.

The pages are fetched once from two real nodes (a campaign and a chapter that joined it, with
a signed report, a correction, a feed, an invitation) as an anonymous reader, an organiser and
an admin would see them, then parsed with the standard library's HTML parser. Each check is a
separate test per page, so one known problem never hides another.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import Engine, event

from node.features.calls.lifecycle import row_values
from node.features.following.follow import follow
from node.features.impact.campaigns import campaign_totals
from node.features.impact.reports import create_report, parse_metric_args, update_report
from node.interfaces.web import charts
from protocol.events import ActionCall, Place, Target, build_event
from storage.models import ActionCall as CallRow
from tests.browser.world import PASSWORD, campaign_world
from tests.rig.nodes import REPO, Node, eventually, start_node

HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"


# -- a small DOM from html.parser --------------------------------------------------------------
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self) -> Iterator[Element]:
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find_all(self, *tags: str) -> list[Element]:
        return [e for e in self.iter() if e.tag in tags]

    def ancestors(self) -> Iterator[Element]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Element(tag, {k: v or "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:  # unmatched end tags are ignored
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(html: str) -> Element:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


# -- the checks: each returns the problems it finds --------------------------------------------
def check_lang(doc: Element) -> list[str]:
    html = doc.find_all("html")
    if len(html) != 1:
        return [f"{len(html)} <html> elements"]
    return [] if html[0].attrs.get("lang", "").strip() else ["<html> has no lang"]


def check_one_h1(doc: Element) -> list[str]:
    h1 = doc.find_all("h1")
    return [] if len(h1) == 1 else [f"{len(h1)} <h1> elements: {[h.text() for h in h1]}"]


HEADING = re.compile(r"^h([1-6])$")


def check_heading_order(doc: Element) -> list[str]:
    problems, previous = [], 0
    for element in doc.iter():
        match = HEADING.match(element.tag)
        if match is None:
            continue
        level = int(match[1])
        if level > previous + 1:
            problems.append(
                f"<h{level}> {element.text().strip()!r} follows "
                + (f"an <h{previous}>" if previous else "no heading")
            )
        previous = level
    return problems


def _has_name(element: Element) -> bool:
    return bool(element.attrs.get("aria-label", "").strip() or element.attrs.get("aria-labelledby"))


NOT_LABELLED = {"hidden", "submit", "button", "reset", "image"}


def check_labels(doc: Element) -> list[str]:
    labelled = {label.attrs["for"] for label in doc.find_all("label") if label.attrs.get("for")}
    problems = []
    for control in doc.find_all("input", "select", "textarea"):
        if control.tag == "input" and control.attrs.get("type", "text").lower() in NOT_LABELLED:
            continue
        if _has_name(control) or any(a.tag == "label" for a in control.ancestors()):
            continue
        if control.attrs.get("id") not in labelled:
            problems.append(
                f"<{control.tag} name={control.attrs.get('name')!r}> has no <label for> "
                "or aria-label"
            )
    return problems


def check_images(doc: Element) -> list[str]:
    problems = [
        f"<img src={img.attrs.get('src')!r}> has no alt"
        for img in doc.find_all("img")
        if "alt" not in img.attrs and not _has_name(img)
    ]
    for svg in doc.find_all("svg"):
        if svg.attrs.get("aria-hidden") == "true":
            continue
        titled = any(c.tag == "title" and c.text().strip() for c in svg.iter())
        if svg.attrs.get("role") != "img":
            problems.append("<svg> without role=img (and not aria-hidden)")
        elif not (_has_name(svg) or titled):
            problems.append("<svg role=img> has no aria-label or <title>")
    return problems


def _accessible_text(element: Element) -> str:
    alts = " ".join(i.attrs.get("alt", "") for i in element.find_all("img"))
    return (element.text() + alts).strip() or element.attrs.get("aria-label", "").strip()


def check_link_and_button_text(doc: Element) -> list[str]:
    problems = [
        f"<a href={a.attrs.get('href')!r}> has no text"
        for a in doc.find_all("a")
        if "href" in a.attrs and not _accessible_text(a)
    ]
    problems += [
        f"<button> in form {b.parent and b.parent.attrs.get('action')!r} has no text"
        for b in doc.find_all("button")
        if not _accessible_text(b)
    ]
    return problems


def check_tables(doc: Element) -> list[str]:
    return [
        f"<table id={t.attrs.get('id')!r}> has no <th>"
        for t in doc.find_all("table")
        if not t.find_all("th")
    ]


def check_unique_ids(doc: Element) -> list[str]:
    seen: dict[str, int] = {}
    for element in doc.iter():
        if "id" in element.attrs:
            seen[element.attrs["id"]] = seen.get(element.attrs["id"], 0) + 1
    return [f"id {i!r} is used {n} times" for i, n in seen.items() if n > 1]


CHECKS: dict[str, Callable[[Element], list[str]]] = {
    "lang": check_lang,
    "one-h1": check_one_h1,
    "heading-order": check_heading_order,
    "labels": check_labels,
    "images": check_images,
    "link-text": check_link_and_button_text,
    "tables": check_tables,
    "unique-ids": check_unique_ids,
}


# -- the pages ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    url: str
    status: int
    html: str
    expected_status: int = 200


PAGE_NAMES = [
    "front",
    "chapter",
    "chapter-organiser",
    "campaign",
    "call",
    "login",
    "login-error",
    "me",
    "new-call-form",
    "edit-call-form",
    "report-form",
    "manage",
    "admin",
    "signup",
    "verify",
    "error-404",
    "error-403-csrf",
]
KNOWN: dict[tuple[str, str], str] = {}  # every known problem is fixed


class Person:
    """One person's cookies on one node (cookies ignore ports, so one per node)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.http = aiohttp.ClientSession(
            headers={"Accept": HTML}, cookie_jar=aiohttp.CookieJar(unsafe=True)
        )

    async def get(self, url: str, expected: int = 200) -> Page:
        async with self.http.get(url) as response:
            return Page(url, response.status, await response.text(), expected)

    async def post(self, url: str, data: dict[str, str], expected: int = 200) -> Page:
        async with self.http.post(url, data=data) as response:
            return Page(url, response.status, await response.text(), expected)

    async def csrf(self, url: str | None = None) -> str:
        page = await self.get(url or f"{self.node.base_url}/login")
        match = re.search(r'name="csrf" value="([^"]+)"', page.html)
        assert match, page.html
        return match[1]

    async def sign_in(self, name: str) -> None:
        token = await self.csrf()
        page = await self.post(
            f"{self.node.base_url}/login", {"csrf": token, "name": name, "password": PASSWORD}
        )
        assert page.status == 200 and "Hello," in page.html, page.html

    async def close(self) -> None:
        await self.http.close()


async def _totals(hub: Node) -> tuple[dict[str, object], int]:
    result = await campaign_totals(hub.services, "climate")
    return {t["metric"]: t["value"] for t in result.totals}, len(result.history)


async def build_and_fetch(root: Path) -> dict[str, Page]:
    hub = await start_node(root / "hub", rollup_interval_seconds=0.2)
    chapter_node = await start_node(root / "chapter")
    people: list[Person] = []
    try:
        w = await campaign_world(hub, chapter_node)
        report = await create_report(
            chapter_node.services,
            w.olga,
            w.adopted_call,
            parse_metric_args(["participants=42:people", "kg_litter=120.5:kg"], "counted"),
            "Forty-two of us cleared the river bank.",
        )

        async def first_rollup() -> bool:
            totals, history = await _totals(hub)
            return totals.get("participants") == 42 and history >= 1

        await eventually(first_rollup, what="the first report in a rollup")
        await update_report(
            chapter_node.services,
            w.olga,
            report.ap_id,
            parse_metric_args(["participants=40:people", "kg_litter=120.5:kg"], "counted"),
            None,
        )

        async def second_rollup() -> bool:  # two points: the line chart is drawn
            totals, history = await _totals(hub)
            return totals.get("participants") == 40 and history >= 2

        await eventually(second_rollup, what="the correction in a second rollup")
        await follow(chapter_node.services, "root", w.chapter_id)  # a feed on /me

        anon, olga, root_ = Person(chapter_node), Person(chapter_node), Person(chapter_node)
        reader = Person(hub)
        people += [anon, olga, root_, reader]
        await olga.sign_in("olga")
        await root_.sign_in("root")
        base = chapter_node.base_url
        pages = {
            "front": await anon.get(f"{base}/"),
            "chapter": await anon.get(w.chapter_id),
            "chapter-organiser": await olga.get(w.chapter_id),
            "campaign": await reader.get(w.campaign_id),
            "call": await olga.get(w.adopted_call),
            "login": await anon.get(f"{base}/login"),
            "me": await root_.get(f"{base}/me"),
            "new-call-form": await olga.get(f"{w.chapter_id}/actions/new"),
            "edit-call-form": await olga.get(f"{w.adopted_call}/edit"),
            "report-form": await olga.get(f"{w.adopted_call}/report"),
            "admin": await root_.get(f"{base}/admin"),
            "verify": await reader.get(f"{w.campaign_id}/verify"),
            "error-404": await anon.get(f"{base}/actors/nobody", expected=404),
        }
        pages["login-error"] = await anon.post(
            f"{base}/login", {"csrf": await anon.csrf(), "name": "olga", "password": "wrong"}
        )
        pages["error-403-csrf"] = await anon.post(
            f"{base}/login", {"name": "olga", "password": PASSWORD}, expected=403
        )
        token = await olga.csrf(f"{w.chapter_id}/manage")
        pages["manage"] = await olga.post(  # 303 → the manage page, showing the new link
            f"{w.chapter_id}/invites", {"csrf": token, "role": "member"}
        )
        link = re.search(r'id="invite-link" href="([^"]+)"', pages["manage"].html)
        assert link, pages["manage"].html
        pages["signup"] = await anon.get(link[1])
        assert set(pages) == set(PAGE_NAMES)
        return pages
    finally:
        for person in people:
            await person.close()
        await chapter_node.stop()
        await hub.stop()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Page]:
    return asyncio.run(build_and_fetch(tmp_path_factory.mktemp("a11y")))


def _cases(checks: list[str]) -> list[object]:
    cases = []
    for name in PAGE_NAMES:
        for check in checks:
            reason = KNOWN.get((name, check)) or KNOWN.get((name, "*"))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(pytest.param(name, check, marks=marks, id=f"{name}-{check}"))
    return cases


@pytest.mark.parametrize(("name", "check"), _cases(["served"]))
def test_page_is_served(pages: dict[str, Page], name: str, check: str) -> None:
    page = pages[name]
    assert page.status == page.expected_status, f"{page.url} answered {page.status}"
    assert page.html.lstrip().lower().startswith("<!doctype html>"), page.html[:200]


@pytest.mark.parametrize(("name", "check"), _cases(list(CHECKS)))
def test_page_accessibility_basics(pages: dict[str, Page], name: str, check: str) -> None:
    page = pages[name]
    assert page.status == page.expected_status, (
        f"{page.url} answered {page.status}, not the page to check"
    )
    problems = CHECKS[check](parse(page.html))
    assert not problems, f"{name} ({page.url}): " + "; ".join(problems)


def test_the_checks_see_what_they_must(pages: dict[str, Page]) -> None:
    """The checks would notice: the pages do carry the things checked (forms, charts, tables)."""
    campaign = parse(pages["campaign"].html)
    # The bars, and one chart over time per metric (participants, kg_litter).
    assert len([s for s in campaign.find_all("svg") if s.attrs.get("role") == "img"]) == 3
    assert campaign.find_all("table") and campaign.find_all("th")
    for name in ("login", "edit-call-form", "report-form", "admin", "signup", "me", "manage"):
        assert parse(pages[name].html).find_all("input", "select", "textarea"), name
    assert check_heading_order(parse("<html><h1>a</h1><h3>b</h3></html>"))
    assert check_labels(parse('<form><label for="x">X</label><input id="y"></form>'))
    assert not check_labels(parse('<label>X <input name="x"></label><input type="hidden">'))
    assert check_link_and_button_text(parse('<a href="/"> </a><button></button>'))
    assert check_images(parse('<img src="a.png"><svg role="img"></svg>'))
    assert check_tables(parse("<table><tr><td>1</td></tr></table>"))


# -- contrast ---------------------------------------------------------------------------------------
STYLESHEET = REPO / "node" / "interfaces" / "web" / "static" / "style.css"


def css_rules(css: str) -> dict[str, dict[str, str]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        decls = {}
        for decl in body.split(";"):
            if ":" in decl:
                prop, value = decl.split(":", 1)
                decls[prop.strip()] = value.strip()
        for selector in selectors.split(","):
            rules.setdefault(selector.strip(), {}).update(decls)
    return rules


RULES = css_rules(STYLESHEET.read_text())


def colour(value: str) -> str:
    """A hex colour, with var(--x) resolved against :root."""
    value = value.strip()
    var = re.fullmatch(r"var\((--[\w-]+)\)", value)
    if var:
        return colour(RULES[":root"][var[1]])
    match = re.fullmatch(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", value)
    assert match, f"not a colour this test understands: {value!r}"
    digits = match[1] if len(match[1]) == 6 else "".join(c * 2 for c in match[1])
    return f"#{digits.lower()}"


def prop(selector: str, name: str) -> str:
    return colour(RULES[selector][name])


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula_matches_known_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)


def _pairs() -> list[object]:
    ink, paper = prop("body", "color"), prop("body", "background")
    flash, error = prop(".flash", "background"), prop(".error", "background")
    pairs = [
        ("body text (--ink on --paper)", ink, paper, 4.5),
        ("links (--accent on --paper)", prop("a", "color"), paper, 4.5),
        ("muted text (--muted on --paper)", prop(".muted", "color"), paper, 4.5),
        ("footer text", prop("footer", "color"), paper, 4.5),
        ("cancelled (--warn on --paper)", prop(".cancelled", "color"), paper, 4.5),
        ("button text on --accent", prop("button", "color"), prop("button", "background"), 4.5),
        (
            "secondary button text on --muted",
            prop("button", "color"),
            prop("button.secondary", "background"),
            4.5,
        ),
        ("form field text", prop("input", "color"), prop("input", "background"), 4.5),
        ("text in a flash message", ink, flash, 4.5),
        ("link in a flash message", prop("a", "color"), flash, 4.5),
        ("text in an error message", ink, error, 4.5),
        ("chart labels (SVG)", charts.INK.lower(), paper, 4.5),
        # Non-text contrast (WCAG 1.4.11): field borders and chart bars need 3:1.
        ("form field border", colour(RULES["input"]["border"].split()[-1]), paper, 3.0),
        ("chart bar against its track", charts.ACCENT.lower(), charts.TRACK.lower(), 3.0),
    ]
    return [pytest.param(*p, id=p[0]) for p in pairs]


@pytest.mark.parametrize(("what", "foreground", "background", "minimum"), _pairs())
def test_stylesheet_colour_pairs_have_enough_contrast(
    what: str, foreground: str, background: str, minimum: float
) -> None:
    ratio = contrast(foreground, background)
    assert ratio >= minimum, f"{what}: {foreground} on {background} is {ratio:.2f}:1 < {minimum}:1"


def test_the_stylesheet_defines_the_custom_properties() -> None:
    root = RULES[":root"]
    for name in ("--ink", "--paper", "--accent", "--muted", "--warn"):
        colour(root[name])


# -- speed: 1,000 calls ----------------------------------------------------------------------------
CALLS = 1000


async def seed_calls(node: Node, chapter: str, count: int) -> None:
    """``count`` action calls, half past and half upcoming, written straight to storage."""
    services = node.services
    async with services.db.read() as session:
        from storage.repositories import actors as actor_repo

        actor = await actor_repo.local_actor_by_name(session, chapter)
    assert actor is not None
    now = datetime.now(UTC).replace(microsecond=0)
    async with services.db.write() as session:
        for i in range(count):
            call_id = services.ids.actor_part(chapter, f"actions/{services.new_id()}")
            start = now + timedelta(days=i - count // 2, hours=1)
            call = ActionCall(
                id=call_id,
                chapter=actor.ap_id,
                title=f"Litter pick {i:04d}",
                start=start,
                end=start + timedelta(hours=3),
                published=now,
                url=call_id,
                followers=services.ids.actor_part(chapter, "followers"),
                timezone="Europe/London",
                place=Place("Green Park gates", "Piccadilly, London"),
                capacity=50,
                goal="A litter-free park",
                targets=(Target("participants", "people", 50),),
                content="<p>Bring gloves and a bottle of water.</p>",
            )
            session.add(
                CallRow(
                    ap_id=call_id,
                    chapter=actor.ap_id,
                    local_actor_id=actor.id,
                    published_at=now,
                    received_at=now,
                    **row_values(call, build_event(call)),
                )
            )


class Statements:
    """Counts the SQL statements every engine of this process executes meanwhile."""

    def __init__(self) -> None:
        self.count = 0

    def _statement(self, *_args) -> None:
        self.count += 1

    def __enter__(self) -> Statements:
        event.listen(Engine, "before_cursor_execute", self._statement)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(Engine, "before_cursor_execute", self._statement)


async def statements_for(http: aiohttp.ClientSession, url: str) -> int:
    """The statements one GET of ``url`` costs, after a warm-up GET (caches filled)."""
    async with http.get(url) as response:
        assert response.status == 200, (url, response.status)
        await response.read()
    with Statements() as statements:
        async with http.get(url) as response:
            assert response.status == 200, (url, response.status)
            await response.read()
    return statements.count


@pytest.fixture
async def busy_chapter(nodes) -> Node:
    node = await nodes()
    await node.chapter("greenpark", title="Green Park Clean-up Crew")
    await node.member("mia")
    await follow(node.services, "mia", node.services.ids.actor("greenpark"))
    await seed_calls(node, "greenpark", CALLS)
    return node


@pytest.mark.parametrize("path", ["/actors/greenpark", "/", "/me"])
async def test_pages_cost_the_same_statements_with_1000_calls_as_with_10(nodes, path: str) -> None:
    """A page's database work must not grow with a chapter's calls: no more SQL statements
    with 1,000 calls than with 10 (an N+1 query would add hundreds). How fast the
    pages are is measured in bench/memory.py, never here."""
    from tests.browser.world import set_password

    node = await nodes(run_workers=False)  # only the requests' statements are counted
    await node.chapter("greenpark", title="Green Park Clean-up Crew")
    await node.member("mia")
    await follow(node.services, "mia", node.services.ids.actor("greenpark"))
    await seed_calls(node, "greenpark", 10)
    await set_password(node, "mia")
    async with aiohttp.ClientSession(
        headers={"Accept": HTML}, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as http:
        async with http.get(f"{node.base_url}/login") as response:
            token = re.search(r'name="csrf" value="([^"]+)"', await response.text())
        assert token
        await http.post(
            f"{node.base_url}/login", data={"csrf": token[1], "name": "mia", "password": PASSWORD}
        )
        few = await statements_for(http, node.base_url + path)
        await seed_calls(node, "greenpark", CALLS - 10)
        many = await statements_for(http, node.base_url + path)
    assert few > 0
    assert many <= few, f"GET {path}: {few} statements with 10 calls, {many} with {CALLS}"


async def test_the_chapter_page_still_lists_upcoming_calls_with_1000_calls(
    busy_chapter: Node,
) -> None:
    node = busy_chapter
    async with (
        aiohttp.ClientSession(headers={"Accept": HTML}) as http,
        http.get(f"{node.base_url}/actors/greenpark") as response,
    ):
        doc = parse(await response.text())
    sections = {s.attrs.get("aria-labelledby"): s for s in doc.find_all("section")}
    upcoming = [a.text() for a in sections["upcoming"].find_all("a")]
    assert upcoming, "no upcoming calls listed"
    # The next call (the first upcoming one) comes first.
    assert upcoming[0] == f"Litter pick {CALLS // 2:04d}", upcoming[:3]
