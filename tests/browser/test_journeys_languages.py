"""The journeys in every shipped language, in a real (headless) Chromium.

One world (two nodes, a campaign with a reported call, a chapter with an upcoming call with
shifts) serves every language; each language then walks the pages as a person does: a reader
whose browser asks for the language (``locale``), another who picks it with the switcher at the
foot of the page (a form, no JavaScript), a member who RSVPs and withdraws, an organiser who
invites and checks people in, publishes a call through the form (with a translation) and opens
the report form, and an admin opens the admin page (one session, asking with ``?lang=``). Every page the journeys reach (front,
directory, chapter, call, campaign, widget, the member's page with its notifications,
unsubscribing, managing, the call and report forms, admin) is checked on the way: ``<html
lang>`` is the language, and the text a person sees holds no pseudo-language mark and no English
sentence the catalogue translates. Elements are found by role, label or id; the words expected
are the catalogue's, so the same journey holds in each language.
"""

from __future__ import annotations

from typing import Any

import pytest

from node.runtime.i18n import SHIPPED, Catalogues
from tests.browser.conftest import skip_reason
from tests.browser.world import PASSWORD
from tests.node.interfaces.web.i18n_world import CLOSE, OPEN, build_world, english_sentences

_reason = skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

from playwright.async_api import expect  # noqa: E402


class Words:
    """The pages' words in one language, as the catalogue has them."""

    def __init__(self, language: str) -> None:
        self.translations = Catalogues().translations(language, "pages")

    def __call__(self, message: str, **variables: Any) -> str:
        text = self.translations.gettext(message)
        return text % variables if variables else text

    def n(self, singular: str, plural: str, count: int, **variables: Any) -> str:
        variables.setdefault("num", count)
        return self.translations.ngettext(singular, plural, count) % variables


async def check_page(page: Any, url: str | None, language: str, english: list[str]) -> None:
    """``url`` (or the page already open) answers 200 in ``language``: its ``<html lang>``,
    and no mark or English sentence in what a person sees."""
    if url is not None:
        response = await page.goto(url, wait_until="domcontentloaded")
        assert response is not None and response.status == 200, (url, response)
    where = url or page.url
    await expect(page.locator("html")).to_have_attribute("lang", language)
    seen = await page.evaluate(
        "document.body.innerText + ' ' + document.title + ' ' + Array.from("
        "document.querySelectorAll('[title],[aria-label],[placeholder],[alt]'))"
        ".map(e => [e.title, e.getAttribute('aria-label'), e.placeholder, e.alt].join(' '))"
        ".join(' ')"
    )
    assert OPEN not in seen and CLOSE not in seen, (where, language)
    left = [sentence for sentence in english if sentence in seen]
    assert not left, f"{where} in {language} still says, in English: {left}"


async def _context_page(browser: Any, locale: str) -> Any:
    context = await browser.new_context(viewport={"width": 1024, "height": 800}, locale=locale)
    context.set_default_timeout(15_000)
    return await context.new_page()


@pytest.mark.timeout(240)
async def test_every_journey_page_in_every_shipped_language(nodes, browser):
    world = await build_world(nodes)
    node, hub = world.node, world.hub
    base = node.base_url
    campaign = f"{hub.base_url}/actors/climate"
    admin = await _context_page(browser, "en")
    await sign_in_in(admin, node, "root", Words("en"))
    for language in SHIPPED:
        t = Words(language)
        english = english_sentences(language)

        # A reader whose browser asks for the language.
        reader = await _context_page(browser, language)
        await reader.goto(f"{base}/")
        await expect(reader.locator("html")).to_have_attribute("lang", language)
        await expect(reader.locator("#upcoming")).to_have_text(t("Upcoming action calls"))
        await check_page(reader, None, language, english)
        await reader.get_by_role("link", name="Green Park Clean-up Crew").first.click()
        await expect(reader.get_by_role("button", name=t("Follow from my server"))).to_be_visible()
        await check_page(reader, None, language, english)
        await reader.goto(campaign)
        await expect(reader.locator("#totals")).to_have_text(t("What we achieved together"))
        await check_page(reader, None, language, english)
        await reader.get_by_role("link", name=t("Check it now")).click()
        await expect(reader.locator("html")).to_have_attribute("lang", language)
        await check_page(reader, None, language, english)
        for url in (f"{base}/directory", world.pond_call, f"{campaign}/widget", world.unsubscribe):
            await check_page(reader, url, language, english)
        await reader.context.close()

        # Another who picks it with the switcher; the choice stays for the next pages.
        chooser = await _context_page(browser, "en-GB" if language != "en" else "de-DE")
        await chooser.goto(f"{base}/login")
        await chooser.locator(f'footer button[value="{language}"]').click()
        await expect(chooser.locator("html")).to_have_attribute("lang", language)
        await expect(chooser.locator("h1")).to_have_text(t("Sign in"))
        await chooser.goto(world.pond_call)
        await expect(chooser.locator("html")).to_have_attribute("lang", language)
        await chooser.context.close()

        # A member RSVPs for a shift and withdraws, in the words of the language.
        member = await _context_page(browser, language)
        await sign_in_in(member, node, "mia", t)
        await expect(member.locator("h1")).to_have_text(t("Hello, %(name)s", name="mia"))
        await expect(member.locator("#language-select")).to_have_value(language)
        await member.goto(world.pond_call)
        withdraw = member.get_by_role("button", name=t("Withdraw my RSVP"))
        await withdraw.click()
        await expect(member.get_by_role("button", name=t("I'll be there"))).to_be_visible()
        await member.get_by_label(t("Shift or role")).select_option(index=1)
        await member.get_by_role("button", name=t("I'll be there")).click()
        await expect(member.locator("#participant-count")).to_have_text("1")
        await expect(withdraw).to_be_visible()
        await check_page(member, None, language, english)
        await check_page(member, f"{base}/me", language, english)  # with its notifications
        await expect(member.locator("#notifications-h")).to_contain_text(t("Notifications"))
        await member.context.close()

        # An organiser invites a member and counts walk-ins at the door.
        organiser = await _context_page(browser, language)
        await sign_in_in(organiser, node, "olga", t)
        await organiser.goto(f"{base}/actors/greenpark")
        await organiser.get_by_role("link", name=t("Manage this chapter")).click()
        await expect(organiser.locator("#pending-h")).to_have_text(
            t("Follow requests waiting for approval")
        )
        await organiser.get_by_role("button", name=t("Create an invitation link")).click()
        await expect(organiser.locator("#invite-link")).to_be_visible()
        await organiser.goto(f"{world.pond_call}/checkin")
        await organiser.get_by_label(t("Or how many came, without names")).fill("2")
        await organiser.get_by_role("button", name=t("Add"), exact=True).click()
        await expect(organiser.locator(".flash")).to_contain_text(
            t.n("%(num)s walk-in added.", "%(num)s walk-ins added.", 2)
        )
        await organiser.get_by_label(t("Or how many came, without names")).fill("2")
        await organiser.get_by_role("button", name=t("Take back")).click()
        await expect(organiser.locator(".flash")).to_contain_text(
            t.n("%(num)s walk-in taken back.", "%(num)s walk-ins taken back.", 2)
        )
        await check_page(organiser, f"{base}/actors/greenpark/manage", language, english)
        await check_page(organiser, f"{world.campaign.adopted_call}/report", language, english)
        await publish_through_the_form(organiser, base, language, t, english)
        await organiser.context.close()

        # The admin's page (one session for every language: ``?lang=`` asks for each).
        await check_page(admin, f"{base}/admin?lang={language}", language, english)
    await admin.context.close()


async def sign_in_in(page: Any, node: Any, name: str, t: Words) -> None:
    """Through the real form, its button named in the page's language."""
    await page.goto(f"{node.base_url}/login")
    await page.fill("#name", name)
    await page.fill("#password", PASSWORD)
    await page.locator("main form").get_by_role("button", name=t("Sign in")).click()
    await page.wait_for_url(f"{node.base_url}/me")


async def publish_through_the_form(
    page: Any, base: str, language: str, t: Words, english: list[str]
) -> None:
    """The new-call form, filled as a person fills it, in the call's language with one
    translation: the call page then shows it, in the page's language."""
    await check_page(page, f"{base}/actors/greenpark/actions/new", language, english)
    title = f"Litter walk ({language})"
    await page.get_by_label(t("Title"), exact=True).fill(title)
    await page.get_by_label(t("Start date")).fill("2027-07-13")
    await page.get_by_label(t("Start time")).fill("10:00")
    await page.get_by_label(t("End time")).fill("12:00")
    await page.get_by_label(t("Language of the title and description")).select_option(language)
    other = "de" if language != "de" else "fr"
    await page.get_by_label(t("Translation %(n)s: language", n=1)).select_option(other)
    await page.get_by_label(t("Translation %(n)s: title", n=1)).fill(f"{title} [{other}]")
    await page.get_by_role("button", name=t("Publish")).click()
    await expect(page.locator(".flash")).to_contain_text(t("Published to every follower."))
    await expect(page.locator("h1")).to_contain_text(title)
    await check_page(page, None, language, english)
