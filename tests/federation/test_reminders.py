"""Reminders before a call starts, on real nodes on loopback sharing one frozen clock (moved by
the test, so "two hours before" comes at once): who is reminded, once, on which channel, and
who is not.

The chapter's node holds the call; hal is its member. alice is a member of another node: her
own node reminds her (in-app and e-mail), from its copy of the call. mo has no Chapterhouse:
a Mastodon-like account played by a scripted server, reminded by a direct message from the
chapter. E-mails go to a real SMTP server on loopback.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from node.features.notifications.reminders import sweep
from node.runtime.clock import FrozenClock
from tests.federation.conftest import follow_and_wait
from tests.rig.hostile import HostileServer
from tests.rig.nodes import Node, eventually
from tests.rig.reminders import (
    call_body,
    create_call,
    deliveries_settled,
    direct_messages,
    emails_settled,
    join_from,
    notices,
    organise,
    reminder_rows,
    rsvp,
    schedule_of,
    set_member,
    wait_accepted,
)
from tests.rig.smtp import MailServer, mail_server  # noqa: F401 - the fixture

HAL, ALICE, IVY = "hal@example.org", "alice@example.org", "ivy@example.org"
SWEEP = {"reminder_sweep_seconds": 0.1}


@pytest.fixture
async def peer():
    server = await HostileServer().start()
    server.add_actor("mo")
    yield server
    await server.stop()


def _clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


async def _chapter_node(nodes, clock: FrozenClock, mail: MailServer) -> tuple[Node, str, str]:
    node = await nodes(clock=clock, **SWEEP, **mail.settings())
    chapter = (await node.chapter("greenpark", title="Green Park Crew")).actor.ap_id
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    return node, chapter, olga.token


def _reminder_mails(server: MailServer, address: str) -> list[str]:
    """Subjects of the reminders e-mailed to ``address`` (RSVP confirmations and changes go
    to the same address)."""
    return [m.subject for m in server.to(address) if m.subject.startswith("Reminder")]


async def _swept(*nodes: Node) -> None:
    """A sweep on each node, now: whatever is due is sent (or skipped) when it returns."""
    for node in nodes:
        await sweep(node.services)


async def test_each_person_is_reminded_once_on_their_own_channel(
    nodes,
    mail_server: MailServer,  # noqa: F811 - the fixture
    peer: HostileServer,
):
    clock = _clock()
    c, chapter, olga = await _chapter_node(nodes, clock, mail_server)
    m = await nodes(clock=clock, **SWEEP, **mail_server.settings())
    hal = await c.member("hal")
    alice = await m.member("alice")
    await set_member(c, "hal", email=HAL)
    await set_member(m, "alice", email=ALICE)
    await follow_and_wait(m, "alice", chapter)

    # Created three hours before it starts: the 24-hour reminder is already past.
    start = clock.now() + timedelta(hours=3)
    call_id = await create_call(c, olga, call_body(start))
    await rsvp(c, hal.token, call_id)
    await rsvp(m, alice.token, call_id)
    await join_from(peer, "mo", c, chapter, call_id, clock.now())
    await wait_accepted(c, "hal", call_id)
    await wait_accepted(m, "alice", call_id)

    await _swept(c, m)
    two_hours = start - timedelta(hours=2)
    for node in (c, m):  # alice's node schedules her reminders from its copy of the call
        assert schedule_of(await reminder_rows(node, call_id)) == [
            (1440, start, "skipped"),
            (120, start, "pending"),
        ]
        assert (await reminder_rows(node, call_id))[1].due_at == two_hours
    assert await notices(c, "reminder") == [] and await notices(m, "reminder") == []

    clock.advance(two_hours - clock.now())  # the reminder is due: the nodes' loops send it

    async def everyone_reminded() -> bool:
        return (
            len(await notices(c, "reminder", hal.actor.ap_id)) == 1
            and len(await notices(m, "reminder", alice.actor.ap_id)) == 1
            and len(direct_messages(peer, "reminder", call_id)) == 1
            and len(_reminder_mails(mail_server, HAL)) >= 1
            and len(_reminder_mails(mail_server, ALICE)) >= 1
        )

    await eventually(everyone_reminded, timeout=30, what="hal, alice and mo to be reminded")
    for node in (c, m):  # sent and recorded before the clock jumps (see emails_settled)
        await emails_settled(node)
    # More sweeps, more time: nobody is reminded again.
    clock.advance(timedelta(minutes=30))
    await _swept(c, m)
    await _swept(c, m)
    await deliveries_settled(c)
    [told_hal] = await notices(c, "reminder", hal.actor.ap_id)
    [told_alice] = await notices(m, "reminder", alice.actor.ap_id)
    assert told_hal.call == told_alice.call == call_id
    assert told_hal.data["offset_minutes"] == 120 and told_hal.data["place"].startswith("Lock 7")
    assert datetime.fromisoformat(told_alice.data["start"]) == start
    assert schedule_of(await reminder_rows(c, call_id))[1] == (120, start, "sent")
    [dm] = direct_messages(peer, "reminder", call_id)
    assert dm["to"] == [peer.actor_id("mo")] and dm["cc"] == []
    assert "starts in 2 hours" in dm["content"] and dm["attributedTo"] == chapter
    assert _reminder_mails(mail_server, HAL) == ["Reminder: Towpath clean-up in 2 hours"]
    assert _reminder_mails(mail_server, ALICE) == ["Reminder: Towpath clean-up in 2 hours"]
    # The chapter's node told hal in-app and its remote participants by direct message (alice's
    # Chapterhouse node ignores that one: her in-app reminder is her own node's).
    told = {n.recipient: n.member_id for n in await notices(c, "reminder")}
    assert told.keys() == {hal.actor.ap_id, alice.actor.ap_id, peer.actor_id("mo")}
    assert told[hal.actor.ap_id] is not None and told[peer.actor_id("mo")] is None
    assert [n.recipient for n in await notices(m, "reminder")] == [alice.actor.ap_id]


async def test_no_reminder_for_a_cancelled_call_a_moved_call_for_its_new_time_only_and_none_for_who_turned_them_off(
    nodes,
    mail_server: MailServer,  # noqa: F811 - the fixture
    peer: HostileServer,
):
    clock = _clock()
    c, chapter, olga = await _chapter_node(nodes, clock, mail_server)
    hal = await c.member("hal")
    ivy = await c.member("ivy")
    await set_member(c, "hal", email=HAL)
    await set_member(c, "ivy", email=IVY, reminders=False)
    start = clock.now() + timedelta(hours=3)
    cancelled = await create_call(c, olga, call_body(start, "Cancelled clean-up"))
    moved = await create_call(c, olga, call_body(start, "Moved clean-up"))
    for call_id in (cancelled, moved):
        for who in (hal, ivy):
            await rsvp(c, who.token, call_id)
        await join_from(peer, "mo", c, chapter, call_id, clock.now())
    await _swept(c)

    await organise(c, olga, "POST", cancelled, "/cancel", {"reason": "flooded"})
    later = start + timedelta(hours=2)
    await organise(
        c, olga, "PATCH", moved, "",
        {"start": later.isoformat(), "end": (later + timedelta(hours=2)).isoformat()},
    )  # fmt: skip

    # The old start's reminders fall due: none goes out.
    clock.advance(timedelta(hours=1))
    await _swept(c)
    assert schedule_of(await reminder_rows(c, cancelled)) == [
        (1440, start, "skipped"),
        (120, start, "skipped"),
    ]
    assert schedule_of(await reminder_rows(c, moved)) == [
        (1440, start, "skipped"),
        (120, start, "skipped"),
        (1440, later, "skipped"),  # scheduled after the move: its day-before time had passed
        (120, later, "pending"),
    ]
    assert await notices(c, "reminder") == []

    # Two hours before the new start: hal is reminded of the new time; ivy is not.
    clock.advance(later - timedelta(hours=2) - clock.now())

    async def hal_reminded() -> bool:
        return bool(await notices(c, "reminder", hal.actor.ap_id))

    await eventually(hal_reminded, timeout=30, what="hal's reminder of the moved call")
    await _swept(c)
    await deliveries_settled(c)
    [told] = await notices(c, "reminder", hal.actor.ap_id)
    assert told.call == moved and datetime.fromisoformat(told.data["start"]) == later
    assert await notices(c, "reminder", ivy.actor.ap_id) == []
    assert [n["url"] for n in direct_messages(peer, "reminder")] == [moved]

    async def mailed() -> bool:
        return bool(_reminder_mails(mail_server, HAL))

    await eventually(mailed, timeout=30, what="hal's reminder e-mail")
    assert _reminder_mails(mail_server, HAL) == ["Reminder: Moved clean-up in 2 hours"]
    assert _reminder_mails(mail_server, IVY) == []
    # Turning reminders off is about reminders only: ivy heard of the move and the cancellation.
    assert [n.kind for n in await notices(c, "call_changed", ivy.actor.ap_id)] == ["call_changed"]
    assert len(await notices(c, "call_cancelled", ivy.actor.ap_id)) == 1


async def test_after_an_outage_only_the_reminder_closest_to_the_start_goes_out(
    nodes,
    mail_server: MailServer,  # noqa: F811 - the fixture
):
    """A node down through both reminder times sends one, saying how long is really left."""
    clock = _clock()
    c, _chapter, olga = await _chapter_node(nodes, clock, mail_server)
    hal = await c.member("hal")
    start = clock.now() + timedelta(days=1, minutes=30)  # both reminders ahead
    call_id = await create_call(c, olga, call_body(start))
    await rsvp(c, hal.token, call_id)
    await _swept(c)
    assert [s for _, _, s in schedule_of(await reminder_rows(c, call_id))] == ["pending"] * 2
    clock.advance(start - timedelta(minutes=90) - clock.now())  # both due, 30 min into the 2 h
    await _swept(c)
    [told] = await notices(c, "reminder", hal.actor.ap_id)
    assert told.data["offset_minutes"] == 90  # the truth, not "in 1 day" nor "in 2 hours"
    assert schedule_of(await reminder_rows(c, call_id)) == [
        (1440, start, "skipped"),
        (120, start, "sent"),
    ]
