"""People's journeys through the pages, in a real (headless) Chromium against real nodes.

Two or three in-process nodes on loopback federate with signed HTTP as in tests/federation;
the browser only does what a person does: sign in, type, click, reload.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from node.features.calls.lifecycle import create_action
from storage.models import Follow
from tests.browser.conftest import SCREENSHOTS, reload_until, sign_in, skip_reason
from tests.browser.world import (
    call_data,
    campaign_world,
    form_times,
    principal,
    set_password,
)

_reason = skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

from playwright.async_api import expect  # noqa: E402


async def count_text(page, selector: str) -> str:
    return (await page.locator(selector).first.inner_text()).strip()


# -- 1. follow a chapter on another node, see its call, RSVP from the feed -----------------------
async def test_member_follows_a_remote_chapter_by_handle_and_rsvps_from_the_feed(nodes, new_page):
    a, b = await nodes(), await nodes()
    await b.chapter("greenpark", title="Green Park Clean-up Crew")
    await b.member("olga", role="organiser", chapter="greenpark")
    call = await create_action(
        b.services, await principal(b, "olga"), "greenpark", call_data("Saturday litter pick")
    )
    await a.member("alice")
    await set_password(a, "alice")

    visitor = await new_page()  # an anonymous reader of node B
    await visitor.goto(call.ap_id)
    await expect(visitor.locator("#participant-count")).to_have_text("0")

    alice = await new_page()
    await sign_in(alice, a, "alice")
    await expect(alice.locator("h1")).to_have_text("Hello, alice")
    await alice.fill("#target", f"greenpark@{b.authority}")
    await alice.locator("form[action='/me/follow']").get_by_role("button", name="Follow").click()
    await alice.wait_for_url(f"{a.base_url}/me")
    await expect(alice.locator(".flash")).to_contain_text(
        f"Following {b.base_url}/actors/greenpark"
    )

    item = alice.locator(".feed-item", has_text="Saturday litter pick")

    async def in_feed() -> bool:
        return await item.count() == 1

    await reload_until(alice, f"{a.base_url}/me", in_feed, what="the chapter's call in the feed")
    # When, where and the goal, in words and the call's own time zone (not raw ISO timestamps).
    line = item.locator(".muted")
    await expect(line).to_contain_text("10:00–13:00 (Europe/London) · Green Park gates")
    await expect(line).not_to_have_text(re.compile(r"\d{4}-\d{2}-\d{2}T"))
    await expect(alice.locator("#follow-h + form + ul")).to_contain_text("(accepted)")
    await item.get_by_role("button", name="RSVP: I'll be there").click()
    await alice.wait_for_url(f"{a.base_url}/me")
    await expect(alice.locator(".flash")).to_contain_text("RSVP")

    async def counted() -> bool:
        return await count_text(visitor, "#participant-count") == "1"

    await reload_until(visitor, call.ap_id, counted, what="participant count 1 on the call page")
    await visitor.goto(f"{b.base_url}/actors/greenpark")
    card = visitor.locator(".card", has_text="Saturday litter pick")
    await expect(card).to_contain_text("1 coming")

    async def answered() -> bool:
        return "Your RSVP: accepted" in await item.inner_text()

    await reload_until(alice, f"{a.base_url}/me", answered, what="the accepted RSVP in the feed")
    # The commitment by the call's title and its chapter's name, linked; not the call's IRI.
    commitments = alice.locator("#commit-h + ul")
    await expect(commitments).to_contain_text("Saturday litter pick (Green Park Clean-up Crew")
    await expect(commitments).to_contain_text("): accepted")
    await expect(commitments.get_by_role("link", name="Saturday litter pick")).to_have_attribute(
        "href", call.ap_id
    )


async def test_member_rsvps_on_the_call_page_and_withdraws(nodes, new_page):
    node = await nodes()
    await node.chapter("greenpark", title="Green Park Clean-up Crew")
    await node.member("olga", role="organiser", chapter="greenpark")
    call = await create_action(
        node.services,
        await principal(node, "olga"),
        "greenpark",
        call_data("Canal sweep", capacity=10),
    )
    await node.member("bea")
    await set_password(node, "bea")
    page = await new_page()
    await page.goto(call.ap_id)
    await expect(page.get_by_role("link", name="Sign in").last).to_be_visible()  # to RSVP
    await sign_in(page, node, "bea")
    await page.goto(call.ap_id)
    await expect(page.locator("#participants")).to_have_text("0 of 10 people are coming.")
    await page.get_by_role("button", name="I'll be there").click()
    await page.wait_for_url(call.ap_id)
    await expect(page.locator(".flash")).to_have_text("RSVP accepted.")
    await expect(page.locator("#participant-count")).to_have_text("1")
    await expect(page.locator("main")).to_contain_text("You are accepted.")
    await page.get_by_role("button", name="Withdraw my RSVP").click()
    await page.wait_for_url(call.ap_id)
    await expect(page.locator("#participant-count")).to_have_text("0")
    await expect(page.get_by_role("button", name="I'll be there")).to_be_visible()


async def test_organiser_invites_a_member_and_approves_a_follower(nodes, new_page):
    node = await nodes()
    await node.chapter("greenpark", title="Green Park Clean-up Crew", approve_followers=True)
    await node.member("olga", role="organiser", chapter="greenpark")
    await set_password(node, "olga")
    olga = await new_page()
    await sign_in(olga, node, "olga")
    await olga.goto(f"{node.base_url}/actors/greenpark")
    await olga.get_by_role("link", name="Manage this chapter").click()
    await expect(olga.locator("h1")).to_have_text("Manage Green Park Clean-up Crew")
    await olga.select_option("#role", "member")
    await olga.get_by_role("button", name="Create an invitation link").click()
    invite = await olga.locator("#invite-link").get_attribute("href")
    assert invite and invite.startswith(f"{node.base_url}/invite/")

    newcomer = await new_page()
    await newcomer.goto(invite)
    await expect(newcomer.locator("h1")).to_have_text("Join Green Park Clean-up Crew")
    await newcomer.fill("#name", "nadia")
    await newcomer.fill("#password", "short")
    await newcomer.get_by_role("button", name="Join").click()
    await expect(newcomer.locator(".error")).to_contain_text("at least 10 characters")
    await newcomer.fill("#name", "nadia")
    await newcomer.fill("#password", "a long enough passphrase")
    await newcomer.get_by_role("button", name="Join").click()
    await newcomer.wait_for_url(f"{node.base_url}/me")
    await expect(newcomer.locator("h1")).to_have_text("Hello, nadia")
    await newcomer.goto(invite)  # used once only
    await expect(newcomer.locator("h1")).to_have_text("410 Gone")

    # Joining is belonging: nadia follows the chapter already, approval or not.
    await newcomer.goto(f"{node.base_url}/actors/greenpark")
    await expect(newcomer.locator("main")).to_contain_text("You follow this chapter (accepted).")

    # The chapter approves followers by hand: pia, who is no member, asks; olga approves.
    await node.member("pia")
    await set_password(node, "pia")
    visitor = await new_page()
    await sign_in(visitor, node, "pia")
    await visitor.goto(f"{node.base_url}/actors/greenpark")
    await visitor.get_by_role("button", name="Follow Green Park Clean-up Crew").click()
    await expect(visitor.locator("main")).to_contain_text("You follow this chapter (pending).")
    await olga.goto(f"{node.base_url}/actors/greenpark/manage")
    pending = olga.locator("section[aria-labelledby=pending-h] li", has_text="pia")
    await pending.get_by_role("button", name="Approve").click()
    await expect(olga.locator(".flash")).to_contain_text("Approved")
    await visitor.reload()
    await expect(visitor.locator("main")).to_contain_text("You follow this chapter (accepted).")


# -- 2. an organiser creates a call and reports impact; the campaign's totals change --------------
async def test_organiser_opens_the_new_call_form_from_the_chapter_page(nodes, new_page):
    node = await nodes()
    await node.chapter("greenpark", title="Green Park Clean-up Crew")
    await node.member("olga", role="organiser", chapter="greenpark")
    await set_password(node, "olga")
    page = await new_page()
    await sign_in(page, node, "olga")
    await page.goto(f"{node.base_url}/actors/greenpark")
    async with page.expect_navigation() as navigation:
        await page.get_by_role("link", name="Create an action call").click()
    response = await navigation.value
    assert response.status == 200, f"the new-call form answered {response.status}"
    await expect(page.locator("h1")).to_have_text("New action call for Green Park Clean-up Crew")
    await page.fill("#title", "Spring clean")
    data = call_data("Spring clean", days=20)
    for selector, value in form_times(data).items():  # local date and time, in the zone
        await page.fill(selector, value)
    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator("h1")).to_have_text("Spring clean")
    await page.goto(f"{node.base_url}/actors/greenpark")
    await expect(page.locator("#upcoming").locator("xpath=..")).to_contain_text("Spring clean")


async def test_organiser_creates_a_call_with_the_call_form_and_it_is_listed(nodes, new_page):
    """The call form's markup (call_form.html) posted to /actions/new, as the new-call page would.

    The new-call page itself is unreachable (see the xfail above), so the same template is
    loaded from the edit page and pointed at the create endpoint: everything after the GET —
    the fields, the CSRF token, the POST handler, the listing — is what an organiser would use.
    """
    w = await campaign_world(await nodes(rollup_interval_seconds=0.2), await nodes())
    node = w.chapter_node
    page = await new_page()
    await sign_in(page, node, "olga")
    await page.goto(f"{w.adopted_call}/edit")
    await page.evaluate(
        "url => { document.querySelector('main form').action = url; }",
        f"{w.chapter_id}/actions/new",
    )
    data = call_data("Pond clean-up", days=12)
    for field in ("title", "place", "goal"):
        await page.fill(f"#{field}", str(data[field]))
    for selector, value in form_times(data).items():  # local date and time, in the zone
        await page.fill(selector, value)
    await page.select_option("#timezone", str(data["timezone"]))
    await page.fill("#capacity", "25")
    await page.fill("#targets", "participants=25:people\nkg_litter=80:kg")
    await page.fill("#description", "<p>Bring <strong>boots</strong>.</p>")
    await page.locator("main form button[type=submit]").click()
    await expect(page.locator("h1")).to_have_text("Pond clean-up")
    await expect(page.locator(".flash")).to_have_text("Published to every follower.")
    await expect(page.locator("#participants")).to_contain_text("0 of 25 people are coming.")
    new_call = page.url
    assert new_call.startswith(f"{w.chapter_id}/actions/") and new_call != w.adopted_call

    await page.goto(w.chapter_id)
    upcoming = page.locator("section[aria-labelledby=upcoming]")
    await expect(upcoming.get_by_role("link", name="Pond clean-up")).to_have_attribute(
        "href", new_call
    )
    await expect(upcoming.get_by_role("link", name="Global day of action")).to_be_visible()


async def test_organiser_reports_on_the_adopted_call_and_the_campaign_totals_change(
    nodes, new_page
):
    w = await campaign_world(await nodes(rollup_interval_seconds=0.2), await nodes())
    reader = await new_page()  # anyone, looking at the campaign on its own node
    await reader.goto(w.campaign_id)
    await expect(reader.locator("#totals-table")).to_contain_text("Nothing reported yet.")

    olga = await new_page()
    await sign_in(olga, w.chapter_node, "olga")
    await olga.goto(w.adopted_call)
    await olga.get_by_role("link", name="Report impact").click()
    await expect(olga.locator("h1")).to_have_text("Report what “Global day of action” achieved")
    await olga.fill("#metrics", "participants=42:people\nkg_litter=120.5:kg")
    await olga.select_option("#method", "counted")
    await olga.fill("#text", "Forty-two of us cleared the river bank.")
    await olga.get_by_role("button", name="Publish the report").click()
    await olga.wait_for_url(w.adopted_call)
    await expect(olga.locator(".flash")).to_have_text("Report published and sent to the campaign.")

    participants = reader.locator("#totals-table .total[data-metric=participants]")
    litter = reader.locator("#totals-table .total[data-metric=kg_litter]")

    async def shows(expected: str) -> bool:
        return await participants.count() == 1 and (await participants.inner_text()) == expected

    async def shows_42() -> bool:
        return await shows("42")

    await reload_until(reader, w.campaign_id, shows_42, what="participants total 42")
    await expect(litter).to_have_text("120.5")
    await expect(reader.locator("svg[role=img]").first).to_have_attribute(
        "aria-label", "Totals against targets"
    )
    per_chapter = reader.locator("section[aria-labelledby=chapters] table")
    # Named, linked and with its handle; never the raw actor IRI.
    chapter_link = per_chapter.get_by_role("link", name="Green Park Clean-up Crew")
    await expect(chapter_link).to_have_attribute("href", w.chapter_id)
    await expect(per_chapter).to_contain_text("@greenpark@")
    await expect(per_chapter).not_to_contain_text(w.chapter_id)

    # A correction through the same form replaces the numbers; the totals follow.
    await olga.goto(f"{w.adopted_call}/report")
    await expect(olga.locator("main")).to_contain_text("Current report:")
    await olga.fill("#metrics", "participants=40:people\nkg_litter=120.5:kg")
    await olga.get_by_role("button", name="Correct the report").click()
    await olga.wait_for_url(w.adopted_call)

    async def shows_40() -> bool:
        return await shows("40")

    await reload_until(reader, w.campaign_id, shows_40, what="the corrected total 40")

    # The chapter's own page shows what it reported.
    await olga.goto(w.chapter_id)
    await expect(olga.locator("section[aria-labelledby=impact] table")).to_contain_text("40")

    # "Verify these numbers": the campaign checks its signed rollup against the chapter's report.
    verify = reader.get_by_role("link", name="Check it now")

    async def rollup_counts_the_correction() -> bool:
        return await verify.count() == 1 and await shows("40")

    await reload_until(reader, w.campaign_id, rollup_counts_the_correction, what="the rollup")
    await expect(reader.locator("section[aria-labelledby=verify]")).to_contain_text(
        "chapterhouse verify"
    )
    await verify.click()
    # The first visit asks for the check (it runs in the background, never on a page view).
    verify_url = reader.url
    heading = reader.locator("h1")

    async def verified() -> bool:
        return await heading.text_content() == "Verified: every number checks out"

    await reload_until(reader, verify_url, verified, what="the stored verification")
    await expect(reader.locator("main")).to_contain_text("1 of 1 signed reports check out")


# -- 3. CSRF: a form without its token, or with a wrong one, is refused -----------------------------
@pytest.mark.parametrize("tamper", ["missing", "wrong"])
async def test_forms_without_the_right_csrf_token_are_refused(nodes, new_page, tamper):
    a, b = await nodes(), await nodes()
    await b.chapter("greenpark")
    await a.member("alice")
    await set_password(a, "alice")
    script = {
        "missing": "() => document.querySelectorAll('main input[name=csrf]').forEach(e => e.remove())",
        "wrong": "() => document.querySelectorAll('main input[name=csrf]').forEach(e => e.value = 'forged-' + e.value.slice(7))",
    }[tamper]

    async def submit_and_expect_403(page, button) -> None:
        await page.evaluate(script)
        async with page.expect_navigation() as navigation:
            await button.click()
        response = await navigation.value
        assert response.status == 403, await page.content()
        await expect(page.locator("h1")).to_have_text("403 Forbidden")
        await expect(page.locator(".error")).to_contain_text("CSRF token is missing or wrong")

    # Signing in (no session yet).
    page = await new_page()
    await page.goto(f"{a.base_url}/login")
    await page.fill("#name", "alice")
    await page.fill("#password", "correct horse battery staple")
    await submit_and_expect_403(
        page, page.locator("main form").get_by_role("button", name="Sign in")
    )
    await page.goto(f"{a.base_url}/me")
    assert page.url == f"{a.base_url}/login", "the refused sign-in must not sign in"

    # Following, once signed in properly.
    await sign_in(page, a, "alice")
    await page.fill("#target", f"greenpark@{b.authority}")
    await submit_and_expect_403(
        page, page.locator("form[action='/me/follow']").get_by_role("button", name="Follow")
    )
    async with a.services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Follow)) == 0

    # And the token the page gives still works (the refusal changed nothing).
    await page.goto(f"{a.base_url}/me")
    await page.fill("#target", f"greenpark@{b.authority}")
    await page.locator("form[action='/me/follow']").get_by_role("button", name="Follow").click()
    await expect(page.locator(".flash")).to_contain_text("Following")


# -- 4. screenshots of the main pages ------------------------------------------------------------------
async def test_screenshots_of_the_main_pages(nodes, new_page):
    from node.features.impact.reports import create_report, parse_metric_args

    w = await campaign_world(await nodes(rollup_interval_seconds=0.2), await nodes())
    node = w.chapter_node
    await create_report(
        node.services,
        w.olga,
        w.adopted_call,
        parse_metric_args(["participants=42:people", "kg_litter=120.5:kg"], "counted"),
        "Forty-two of us cleared the river bank.",
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    anonymous, admin = await new_page(), await new_page()

    async def totals_in() -> bool:
        return await anonymous.locator(".total[data-metric=participants]").count() == 1

    await reload_until(anonymous, w.campaign_id, totals_in, what="the campaign totals")
    await sign_in(admin, node, "root")
    await admin.goto(w.chapter_id)
    await admin.locator("form[action='/me/follow'] button").click()  # so /me has a feed

    shots = [
        ("front", anonymous, f"{node.base_url}/"),
        ("chapter", anonymous, w.chapter_id),
        ("campaign", anonymous, w.campaign_id),
        ("call", anonymous, w.adopted_call),
        ("login", anonymous, f"{node.base_url}/login"),
        ("me", admin, f"{node.base_url}/me"),
        ("admin", admin, f"{node.base_url}/admin"),
        ("new-call-form", admin, f"{w.chapter_id}/actions/new"),
        ("edit-call-form", admin, f"{w.adopted_call}/edit"),
        ("report-form", admin, f"{w.adopted_call}/report"),
        ("manage", admin, f"{w.chapter_id}/manage"),
    ]
    written, refused = [], {}
    for name, page, url in shots:
        response = await page.goto(url)
        assert response is not None
        if not response.ok:
            refused[name] = response.status
            name = f"{name}.http{response.status}"  # so nobody mistakes it for the page
        path = SCREENSHOTS / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000
        written.append(path.name)
    # Only the known bug may refuse a page (the strict xfail test above tracks it).
    assert set(refused) <= {"new-call-form"}, refused
    assert len(written) == len(shots)
