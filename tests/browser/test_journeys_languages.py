"""The journeys in every shipped language, in a real (headless) Chromium.

One world (two nodes, a campaign with a reported call, a chapter with an upcoming call with
shifts) serves every language; each language then walks the pages as a person does: a reader
whose browser asks for the language (``locale``), another who picks it with the switcher at the
foot of the page (a form, no JavaScript), a member who RSVPs and withdraws, an organiser who
invites and checks people in. Elements are found by role, label or id; the words expected are
the catalogue's, so the same journey holds in each language.
"""

from __future__ import annotations

from typing import Any

import pytest

from node.runtime.i18n import SHIPPED, Catalogues
from tests.browser.conftest import skip_reason
from tests.browser.world import PASSWORD
from tests.node.interfaces.web.i18n_world import build_world

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


async def _context_page(browser: Any, locale: str) -> Any:
    context = await browser.new_context(viewport={"width": 1024, "height": 800}, locale=locale)
    context.set_default_timeout(15_000)
    return await context.new_page()


@pytest.mark.timeout(240)
async def test_every_journey_page_in_every_shipped_language(nodes, browser):
    world = await build_world(nodes)
    node, hub = world.node, world.hub
    base = node.base_url
    for language in SHIPPED:
        t = Words(language)

        # A reader whose browser asks for the language.
        reader = await _context_page(browser, language)
        await reader.goto(f"{base}/")
        await expect(reader.locator("html")).to_have_attribute("lang", language)
        await expect(reader.locator("#upcoming")).to_have_text(t("Upcoming action calls"))
        await reader.get_by_role("link", name="Green Park Clean-up Crew").first.click()
        await expect(reader.get_by_role("button", name=t("Follow from my server"))).to_be_visible()
        await reader.goto(f"{hub.base_url}/actors/climate")
        await expect(reader.locator("#totals")).to_have_text(t("What we achieved together"))
        await reader.get_by_role("link", name=t("Check it now")).click()
        await expect(reader.locator("html")).to_have_attribute("lang", language)
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
        await organiser.context.close()


async def sign_in_in(page: Any, node: Any, name: str, t: Words) -> None:
    """Through the real form, its button named in the page's language."""
    await page.goto(f"{node.base_url}/login")
    await page.fill("#name", name)
    await page.fill("#password", PASSWORD)
    await page.locator("main form").get_by_role("button", name=t("Sign in")).click()
    await page.wait_for_url(f"{node.base_url}/me")
