"""What only organisers are told: a follower waiting for their approval, and a report due a
day after a call ended with none. Real nodes on loopback; the report test moves a frozen clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from node.features.following.follow import follow
from node.features.notifications.reminders import sweep
from node.runtime.clock import FrozenClock
from protocol.activities import build_follow
from tests.rig.api import call_api
from tests.rig.hostile import HostileServer
from tests.rig.nodes import eventually
from tests.rig.reminders import call_body, create_call, notices, organise

WAITING, DUE = "follower_waiting", "report_due"


async def test_organisers_hear_of_a_follower_waiting_once_per_request(nodes):
    c = await nodes()
    chapter = (
        await c.chapter("greenpark", title="Green Park Crew", approve_followers=True)
    ).actor.ap_id
    olga = await c.member("olga", role="organiser", chapter="greenpark")
    ada = await c.member("ada", role="admin", chapter="greenpark")
    hal = await c.member("hal", chapter="greenpark")
    open_chapter = (await c.chapter("riverside")).actor.ap_id
    await c.member("rita", role="organiser", chapter="riverside")
    await c.member("lena")  # a member of this node, following from here
    m = await nodes()
    await m.member("alice")
    peer = await HostileServer().start()
    try:
        peer.add_actor("zoe")
        # lena (here), alice (another Chapterhouse node) and zoe (anything else) ask to follow.
        await follow(c.services, "lena", chapter)
        await follow(m.services, "alice", chapter)
        asked = build_follow(peer.activity_id("follow"), peer.actor_id("zoe"), chapter)
        assert (await peer.post(f"{c.base_url}/inbox", asked, as_actor="zoe")).status == 202
        alice = m.services.ids.actor("alice")

        async def told() -> bool:
            return len(await notices(c, WAITING)) == 6  # three requests, two organisers

        await eventually(told, timeout=30, what="the organisers to hear of the requests")
        seen = {(n.recipient, n.data["follower"]) for n in await notices(c, WAITING)}
        assert seen == {
            (who, follower)
            for who in (olga.actor.ap_id, ada.actor.ap_id)
            for follower in (c.services.ids.actor("lena"), alice, peer.actor_id("zoe"))
        }
        assert await notices(c, WAITING, hal.actor.ap_id) == []  # members approve nobody
        [note] = [
            n
            for n in await notices(c, WAITING, olga.actor.ap_id)
            if n.data["follower"] == peer.actor_id("zoe")
        ]
        assert note.data["chapter"] == "Green Park Crew"
        assert note.data["url"] == f"{chapter}/manage"
        assert note.data["who"] == f"@zoe@{peer.authority}"

        # Asking again while the first request waits tells nobody again; a follow needing no
        # approval tells nobody at all.
        again = build_follow(peer.activity_id("follow"), peer.actor_id("zoe"), chapter)
        assert (await peer.post(f"{c.base_url}/inbox", again, as_actor="zoe")).status == 202
        plain = build_follow(peer.activity_id("follow"), peer.actor_id("zoe"), open_chapter)
        assert (await peer.post(f"{c.base_url}/inbox", plain, as_actor="zoe")).status == 202

        async def handled() -> bool:
            accepts = [p for p in peer.posts() if p.get("type") == "Accept"]
            return any(a["object"]["id"] == plain["id"] for a in accepts)

        await eventually(handled, timeout=30, what="the open chapter to accept zoe")
        await follow(c.services, "lena", chapter)
        assert len(await notices(c, WAITING)) == 6
    finally:
        await peer.stop()


async def test_a_report_due_a_day_after_the_end_reaches_the_organisers_once(nodes):
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    c = await nodes(clock=clock, reminder_sweep_seconds=0.1)
    await c.chapter("greenpark", title="Green Park Crew")
    olga = await c.member("olga", role="organiser", chapter="greenpark")
    ada = await c.member("ada", role="admin", chapter="greenpark")
    hal = await c.member("hal", chapter="greenpark")
    start = clock.now() + timedelta(hours=1)
    forgotten = await create_call(c, olga.token, call_body(start, "Forgotten clean-up"))
    long_ago = await create_call(c, olga.token, call_body(start, "Long-ago clean-up"))
    clock.advance(timedelta(days=9))  # long_ago ended eight days ago: not brought up now
    await sweep(c.services)
    assert await notices(c, DUE) == []

    start = clock.now() + timedelta(hours=1)
    end = start + timedelta(hours=2)
    unreported = await create_call(c, olga.token, call_body(start, "Canal clean-up"))
    reported = await create_call(c, olga.token, call_body(start, "Park clean-up"))
    cancelled = await create_call(c, olga.token, call_body(start, "Rained-off clean-up"))
    await organise(c, olga.token, "POST", cancelled, "/cancel", {"reason": "storm"})
    clock.advance(end - clock.now() + timedelta(hours=1))
    path = reported.removeprefix(f"{c.base_url}/actors/greenpark")
    status, report = await call_api(
        c.base_url,
        olga.token,
        "POST",
        f"/api/v1/chapters/greenpark{path}/report",
        {"metrics": [{"metric": "kg_litter", "unit": "kg", "value": 9, "method": "counted"}]},
    )
    assert status == 201, report

    clock.advance(timedelta(hours=22))  # 23 hours after the end: not yet
    await sweep(c.services)
    assert await notices(c, DUE) == []

    clock.advance(timedelta(hours=1, minutes=1))  # a day and a minute after the end

    async def told() -> bool:
        return len(await notices(c, DUE)) == 2

    await eventually(told, timeout=30, what="both organisers to be told of the report due")
    clock.advance(timedelta(days=2))  # more sweeps, later: nobody is told again
    await sweep(c.services)
    await sweep(c.services)
    due = await notices(c, DUE)
    assert sorted(n.recipient for n in due) == sorted([olga.actor.ap_id, ada.actor.ap_id])
    assert {n.call for n in due} == {unreported}
    assert due[0].data["title"] == "Canal clean-up"
    assert await notices(c, DUE, hal.actor.ap_id) == []
    assert forgotten and long_ago  # the calls before the jump were never brought up
