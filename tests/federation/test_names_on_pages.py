"""Pages name people and chapters, across nodes: the campaign's per-chapter table, a chapter's
followers and participants, a member's follows, feed and commitments show names and
``@user@host`` handles from the cached actor documents (linked), never the raw actor IRI; counts
agree with their nouns ("1 follower", "1 chapter"); feed cards say which chapter calls and come in
the order of the calls' starts.

Real nodes on loopback, real signed federation: the names come from what each node fetched.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp

from node.features.actors.authz import Principal, principal_by_name
from node.features.actors.directory import find_local_actor
from node.features.actors.local import create_actor
from node.features.calls.lifecycle import adopt_action, create_action
from node.features.calls.rsvp import rsvp
from node.features.following.approval import approve_follower
from node.features.following.follow import follow
from node.features.impact.campaigns import campaign_totals
from node.features.impact.reports import create_report, parse_metric_args
from storage.repositories import actions as action_repo
from storage.repositories import follows as follow_repo
from tests.federation.conftest import follow_and_wait
from tests.rig.nodes import Node, eventually
from tests.rig.signin import browser, get, login, set_password

WAIT = 60.0  # generous: the machine may be loaded
NOW = datetime.now(UTC).replace(microsecond=0)


def section(page: str, heading_id: str) -> str:
    found = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    assert found, f"no section {heading_id} in:\n{page}"
    return html.unescape(found[1])


def linked(text: str, href: str, name: str) -> bool:
    return f'<a href="{href}">{name}</a>' in text


async def who(node: Node, name: str) -> Principal:
    async with node.services.db.read() as session:
        return await principal_by_name(session, name)


async def test_a_campaign_page_names_a_remote_chapter_and_counts_in_words(nodes):
    hub = await nodes(rollup_interval_seconds=0.2)
    away = await nodes()
    campaign = (await create_actor(hub.services, "climate", "campaign", title="Climate Day")).actor
    await hub.member("cora", role="organiser", chapter="climate")
    chapter = (await away.chapter("greenpark", title="Green Park Crew")).actor
    await away.member("olga", role="organiser", chapter="greenpark")
    await follow_and_wait(away, "greenpark", campaign.ap_id)  # the chapter joins the campaign
    call = await create_action(
        hub.services,
        await who(hub, "cora"),
        "climate",
        {
            "title": "Global litter pick",
            "start": (NOW - timedelta(hours=2)).isoformat(),
            "end": (NOW + timedelta(hours=1)).isoformat(),
            "targets": ["participants=100:people"],
        },
    )

    async def arrived() -> bool:
        async with away.services.db.read() as session:
            return await action_repo.call_by_ap_id(session, call.ap_id) is not None

    await eventually(arrived, timeout=WAIT, what="the campaign's call at the chapter's node")
    olga = await who(away, "olga")
    adopted = await adopt_action(away.services, olga, call.ap_id, "greenpark")
    await create_report(
        away.services,
        olga,
        adopted.ap_id,
        parse_metric_args(["participants=42:people"], "counted"),
        None,
    )

    async def counted() -> bool:
        totals = await campaign_totals(hub.services, "climate")
        return chapter.ap_id in totals.chapters and totals.rollup is not None

    await eventually(counted, timeout=WAIT, what="the hub to count the remote chapter's report")

    async with browser() as http:
        page = (await get(http, campaign.ap_id)).text
        per_chapter = section(page, "chapters")
        assert linked(per_chapter, chapter.ap_id, "Green Park Crew"), per_chapter
        assert f"@greenpark@{away.authority}" in per_chapter, per_chapter
        assert f">{chapter.ap_id}<" not in per_chapter, per_chapter
        assert "42 people" in per_chapter and "people participants" not in per_chapter
        assert "1 chapter reporting" in html.unescape(page), page
        assert "1 chapters" not in page

        # The campaign's call: by the campaign (named), its target in words.
        answer = await get(http, call.ap_id)
        assert answer.status == 200
        text = html.unescape(answer.text)
        assert "Target: 100 people<" in text, text
        assert "100.0" not in text and "people participants" not in text
        assert linked(text, campaign.ap_id, "Climate Day"), text

    # The signed rollup's sentence, as every other server shows it.
    totals = await campaign_totals(hub.services, "climate")
    async with (
        aiohttp.ClientSession() as http,
        http.get(str(totals.rollup), headers={"Accept": "application/activity+json"}) as resp,
    ):
        rollup = await resp.json(content_type=None)
    assert rollup["content"].startswith("Together, 1 chapter: 42 people"), rollup["content"]


@dataclass
class Followed:
    home: Node  # the chapter's node
    away: Node  # the members' node
    chapter: str
    alice: str
    bob: str
    calls: list[str]  # sooner first


async def followed_chapter(nodes) -> Followed:
    """A chapter that approves followers by hand; Alice (with a display name) and Bob (named by
    his account name) on another node follow it and RSVP to its two calls, the later one published first."""
    home, away = await nodes(), await nodes()
    chapter = (
        await create_actor(
            home.services, "riverside", "chapter", title="Riverside Friends", approve_followers=True
        )
    ).actor
    await home.member("rui", role="organiser", chapter="riverside")
    await set_password(home, "rui")
    alice = (await create_actor(away.services, "alice", "member", title="Alice Liddell")).actor
    bob = (await away.member("bob")).actor
    await set_password(away, "alice")
    rui = await who(home, "rui")
    for name in ("alice", "bob"):
        assert (await follow(away.services, name, chapter.ap_id)).state == "pending"

    async def asked() -> bool:
        async with home.services.db.read() as session:
            return len(await follow_repo.pending_follows_of(session, chapter.ap_id)) == 2

    await eventually(asked, timeout=WAIT, what="both follow requests at the chapter")
    calls = []
    for days in (20, 10):  # the later call is published first
        row = await create_action(
            home.services,
            rui,
            "riverside",
            {
                "title": f"River walk in {days} days",
                "start": (NOW + timedelta(days=days)).isoformat(),
                "end": (NOW + timedelta(days=days, hours=2)).isoformat(),
            },
        )
        calls.append(row.ap_id)
    return Followed(home, away, chapter.ap_id, alice.ap_id, bob.ap_id, calls[::-1])


async def test_followers_and_participants_are_listed_by_name_and_handle(nodes):
    w = await followed_chapter(nodes)
    handle_a, handle_b = f"@alice@{w.away.authority}", f"@bob@{w.away.authority}"
    async with browser() as http:
        assert (await login(http, w.home, "rui")).status == 303
        manage = f"{w.chapter}/manage"
        pending = section((await get(http, manage)).text, "pending-h")
        assert linked(pending, w.alice, "Alice Liddell") and handle_a in pending, pending
        assert linked(pending, w.bob, "bob") and handle_b in pending, pending
        assert f"{w.alice} <form" not in pending and f">{w.alice}<" not in pending

        # One approved: "1 follower"; both: "2 followers" (the organiser's own follow, made
        # when they joined the chapter, is taken out so that the count is the two members').
        async with w.home.services.db.write() as session:
            await follow_repo.remove_follow(session, w.home.services.ids.actor("rui"), w.chapter)
        rui = await who(w.home, "rui")
        riverside = await find_local_actor(w.home.services, "riverside")
        assert riverside is not None
        await approve_follower(w.home.services, rui, riverside, w.alice)
        page = html.unescape((await get(http, w.chapter)).text)
        assert "1 follower<" in page and "1 followers" not in page, page
        await approve_follower(w.home.services, rui, riverside, w.bob)
        assert "2 followers<" in html.unescape((await get(http, w.chapter)).text)

        for name in ("alice", "bob"):
            await rsvp(w.away.services, await who(w.away, name), w.calls[0])

        async def joined() -> bool:
            async with w.home.services.db.read() as session:
                row = await action_repo.call_by_ap_id(session, w.calls[0])
                assert row is not None
                return len(await action_repo.participants(session, row.id)) == 2

        await eventually(joined, timeout=WAIT, what="both RSVPs at the chapter's node")
        roster = section((await get(http, manage)).text, "calls-h")
        assert linked(roster, w.alice, "Alice Liddell") and handle_a in roster, roster
        assert linked(roster, w.bob, "bob") and handle_b in roster, roster
        assert f"<li>{w.alice}</li>" not in roster and f"<li>{w.bob}</li>" not in roster


async def test_a_members_follows_feed_and_commitments_name_the_chapter(nodes):
    w = await followed_chapter(nodes)
    rui = await who(w.home, "rui")
    riverside = await find_local_actor(w.home.services, "riverside")
    assert riverside is not None
    await approve_follower(w.home.services, rui, riverside, w.alice)

    async def accepted_and_delivered() -> bool:
        async with w.away.services.db.read() as session:
            row = await follow_repo.follow_between(session, w.alice, w.chapter)
            known = [await action_repo.call_by_ap_id(session, c) for c in w.calls]
        return row is not None and row.state == "accepted" and all(known)

    # The calls published before the approval reach Alice's node once she follows (backfill)
    # or as she RSVPs (fetched); RSVPing to both makes sure her node holds both.
    async def accepted() -> bool:
        async with w.away.services.db.read() as session:
            row = await follow_repo.follow_between(session, w.alice, w.chapter)
        return row is not None and row.state == "accepted"

    await eventually(accepted, timeout=WAIT, what="Alice's follow to be accepted")
    alice = await who(w.away, "alice")
    for call in w.calls:
        await rsvp(w.away.services, alice, call)
    await eventually(accepted_and_delivered, timeout=WAIT, what="both calls at Alice's node")

    async with browser() as http:
        assert (await login(http, w.away, "alice")).status == 303
        page = (await get(http, f"{w.away.base_url}/me")).text
        handle = f"@riverside@{w.home.authority}"

        follows = section(page, "follow-h")
        assert linked(follows, w.chapter, "Riverside Friends") and handle in follows, follows

        feed = section(page, "feed-h")
        cards = re.findall(r'<div class="card feed-item">(.*?)</div>', feed, re.S)
        assert len(cards) == 2, feed
        for card in cards:
            assert "From " in card and linked(card, w.chapter, "Riverside Friends"), card
        # Sorted by the call's start, soonest first (though it was published last).
        titles = [re.search(r"<h3><a [^>]*>([^<]+)</a>", c)[1] for c in cards]
        assert titles == ["River walk in 10 days", "River walk in 20 days"], titles

        mine = section(page, "commit-h")
        for call, title in zip(w.calls, titles, strict=True):
            assert linked(mine, call, title), mine
        assert linked(mine, w.chapter, "Riverside Friends"), mine
        assert f">{w.calls[0]}<" not in mine
