"""Notification e-mails from a real node to a real SMTP server on loopback (aiosmtpd): what
arrives, that it arrives once, retries while the server defers, a permanent refusal, and the
reminders that must never go out."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from node.features.calls.lifecycle import cancel_action
from node.features.notifications.email import smtp_port
from node.features.notifications.kinds import Kind
from node.features.notifications.preferences import update_member_settings
from node.features.notifications.wording import describe
from node.runtime.config import Settings
from storage.models.states import EmailState, FollowUpState
from storage.repositories import actors as actor_repo
from tests.rig.nodes import eventually
from tests.rig.notifying import (
    email_follow_up,
    email_state,
    member_with_address,
    organiser_and_call,
    tell,
)
from tests.rig.smtp import MailServer

ADA = "ada@example.org"


async def _state_becomes(node, notification_id: int, expected: str | None) -> None:
    async def reached() -> bool:
        return await email_state(node, notification_id) == expected

    await eventually(reached, timeout=20, what=f"email_state {expected}")


async def test_a_notification_sends_one_mail_with_both_parts_the_headers_and_the_ics(
    nodes, mail_server: MailServer
):
    node = await nodes(**mail_server.settings(), node_name="Green Park Node")
    _, call = await organiser_and_call(node)
    await member_with_address(node, "ada", ADA)
    await member_with_address(node, "bo", None)  # no address: in-app only

    accepted = await tell(node, "ada", Kind.ACCEPTED, call)
    assert accepted is not None and accepted.email_state == EmailState.PENDING
    quiet = await tell(node, "bo", Kind.ACCEPTED, call)
    assert quiet is not None and quiet.email_state is None  # nothing to send

    [mail] = await mail_server.wait_for(ADA)
    await _state_becomes(node, accepted.id, EmailState.SENT)
    words = describe(accepted.kind, accepted.data)
    assert mail.subject == words.subject == "You're going: Canal clean-up"
    assert mail.recipients == [ADA]
    assert mail.message["From"].addresses[0].display_name == "Green Park Node"
    assert mail.message["From"].addresses[0].addr_spec == "noreply@127.0.0.1"
    assert mail.message["Message-ID"] and mail.message["Date"]
    assert mail.message["Auto-Submitted"] == "auto-generated"
    # Text and HTML parts, saying what /me says, with a link to the call.
    assert words.text in mail.text() and call.ap_id in mail.text()
    html = mail.html()
    assert f'href="{call.ap_id}"' in html and "Canal clean-up" in html
    # Unsubscribing: a link in both parts, List-Unsubscribe and one-click (RFC 8058).
    header = str(mail.message["List-Unsubscribe"])
    found = re.fullmatch(r"<(http://127\.0\.0\.1:\d+/unsubscribe\?token=[^>]+)>", header)
    assert found, header
    assert found.group(1) in mail.text()
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The call's .ics, for a confirmation.
    [ics] = mail.attachments()
    assert ics.get_content_type() == "text/calendar"
    calendar = ics.get_content()
    assert f"UID:{call.ap_id}" in calendar.replace("\r\n ", "")
    assert "SUMMARY:Canal clean-up" in calendar

    # Once: the same event again records nothing; an organiser's kind has no calendar.
    assert await tell(node, "ada", Kind.ACCEPTED, call) is None
    organiser_note = await tell(node, "ada", Kind.NEW_PARTICIPANT, call, who="Bo")
    assert organiser_note is not None
    second = await mail_server.wait_for(ADA, count=2)
    assert second[1].subject == "New participant: Canal clean-up"
    assert second[1].attachments() == []
    await asyncio.sleep(1.5)  # the worker polls every second: nothing more comes
    assert len(mail_server.to(ADA)) == 2
    assert mail_server.to("bo") == []


async def test_a_deferring_server_gets_the_mail_once_it_accepts(nodes, mail_server: MailServer):
    node = await nodes(**mail_server.settings(), follow_up_retry_base_seconds=0.2)
    _, call = await organiser_and_call(node)
    await member_with_address(node, "ada", ADA)
    mail_server.refuse = True  # 451: try again later

    row = await tell(node, "ada", Kind.REMINDER, call, offset_minutes=120)
    assert row is not None

    async def refused_twice() -> bool:
        return mail_server.refused >= 2

    await eventually(refused_twice, timeout=20, what="two refused attempts")
    assert await email_state(node, row.id) == EmailState.PENDING
    follow_up = await email_follow_up(node, row.id)
    assert follow_up.state == FollowUpState.PENDING and follow_up.attempts >= 1
    assert "451" in (follow_up.last_error or "")

    mail_server.refuse = False
    [mail] = await mail_server.wait_for(ADA)
    assert mail.subject == "Reminder: Canal clean-up in 2 hours"
    assert [a.get_content_type() for a in mail.attachments()] == ["text/calendar"]
    await _state_becomes(node, row.id, EmailState.SENT)

    async def follow_up_done() -> bool:  # marked done by the worker's own transaction, after
        return (await email_follow_up(node, row.id)).state == FollowUpState.DONE

    await eventually(follow_up_done, timeout=20, what="the e-mail follow-up done")
    await asyncio.sleep(1.5)
    assert len(mail_server.to(ADA)) == 1


async def test_a_reminder_is_never_sent_for_a_cancelled_call_or_a_moved_start(
    nodes, mail_server: MailServer
):
    node = await nodes(**mail_server.settings())
    olga, call = await organiser_and_call(node)
    await member_with_address(node, "ada", ADA)
    # A reminder made for a start the call no longer has (it moved since): skipped.
    moved = await tell(
        node, "ada", Kind.REMINDER, call, key="moved", start="2020-01-01T10:00:00+00:00"
    )
    cancelled = await cancel_action(node.services, olga, call.ap_id, "Flooded towpath")
    # The reminder is due after the call was cancelled; the cancellation itself is told.
    reminder = await tell(node, "ada", Kind.REMINDER, cancelled, key="24h", offset_minutes=1440)
    told = await tell(node, "ada", Kind.CANCELLED, cancelled, reason="Flooded towpath")
    assert moved is not None and reminder is not None and told is not None

    [mail] = await mail_server.wait_for(ADA)
    assert mail.subject == "Cancelled: Canal clean-up"
    [ics] = mail.attachments()
    assert "STATUS:CANCELLED" in ics.get_content()
    await _state_becomes(node, reminder.id, None)  # no e-mail is due
    await _state_becomes(node, moved.id, None)
    assert (await email_follow_up(node, reminder.id)).state == FollowUpState.DONE
    await asyncio.sleep(1.5)
    assert [m.subject for m in mail_server.to(ADA)] == ["Cancelled: Canal clean-up"]


async def test_a_member_who_turned_reminders_off_or_removed_the_address_gets_no_mail(
    nodes, mail_server: MailServer
):
    node = await nodes(**mail_server.settings(), follow_up_retry_base_seconds=0.2)
    _, call = await organiser_and_call(node)
    await member_with_address(node, "ada", ADA)
    mail_server.refuse = True  # hold the mails back while the member changes their mind
    reminder = await tell(node, "ada", Kind.REMINDER, call, offset_minutes=120)
    changed = await tell(node, "ada", Kind.CHANGED, call)
    assert reminder is not None and changed is not None

    async def refused_more(than: int) -> None:
        async def more() -> bool:
            return mail_server.refused > than

        await eventually(more, timeout=20, what="another refused attempt")

    await refused_more(1)  # both were tried (and deferred)
    await update_member_settings(node.services, "ada", reminders=False)
    # Still deferring: the reminder's next try finds reminders off and gives it up.
    await _state_becomes(node, reminder.id, None)
    mail_server.refuse = False
    [mail] = await mail_server.wait_for(ADA)  # the change is told, the reminder is not
    assert mail.subject == "Changed: Canal clean-up"

    mail_server.refuse = True
    before = mail_server.refused
    later = await tell(node, "ada", Kind.PROMOTED, call)
    assert later is not None
    await refused_more(before)
    await update_member_settings(node.services, "ada", email="")
    await _state_becomes(node, later.id, None)  # its next try finds no address
    mail_server.refuse = False
    await asyncio.sleep(1.5)
    assert len(mail_server.to(ADA)) == 1


class PickyServer(MailServer):
    """Refuses one mailbox for good (550), as a server answers for an address that does not
    exist."""

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
async def picky_server() -> AsyncIterator[PickyServer]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = PickyServer("127.0.0.1", port)
    controller = Controller(server, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(controller.stop)


async def test_a_permanently_refused_recipient_is_dead_at_once(nodes, picky_server: PickyServer):
    node = await nodes(**picky_server.settings(), follow_up_retry_base_seconds=0.2)
    _, call = await organiser_and_call(node)
    await member_with_address(node, "nobody", "nobody@example.org")
    await member_with_address(node, "ada", ADA)
    refused = await tell(node, "nobody", Kind.ACCEPTED, call)
    delivered = await tell(node, "ada", Kind.ACCEPTED, call)
    assert refused is not None and delivered is not None

    await picky_server.wait_for(ADA)
    await _state_becomes(node, refused.id, EmailState.DEAD)
    follow_up = await email_follow_up(node, refused.id)
    assert follow_up.state == FollowUpState.DEAD and follow_up.attempts == 1
    assert "550" in (follow_up.last_error or "")
    assert picky_server.to("nobody@example.org") == []


def test_the_port_follows_the_security_unless_set():
    def settings(**values) -> Settings:
        return Settings(data_dir=Path("/nonexistent"), base_url="https://a.example", **values)

    assert smtp_port(settings(smtp_security="tls")) == 465
    assert smtp_port(settings(smtp_security="starttls")) == 25
    assert smtp_port(settings(smtp_security="none")) == 25
    assert smtp_port(settings(smtp_security="tls", smtp_port=2465)) == 2465


async def test_an_address_stored_around_the_checks_is_never_sent_to(nodes, mail_server: MailServer):
    """An address written straight into the database (an import, an old version) still goes
    through the check before it reaches a header: a line break in it is never sent."""
    node = await nodes(**mail_server.settings())
    _, call = await organiser_and_call(node)
    await member_with_address(node, "eve", None)
    async with node.services.db.write() as session:
        eve = await actor_repo.local_actor_by_name(session, "eve")
        assert eve is not None
        eve.email = "eve@example.org\r\nBcc: victim@example.org"
    row = await tell(node, "eve", Kind.ACCEPTED, call)
    assert row is not None and row.email_state == EmailState.PENDING
    await _state_becomes(node, row.id, EmailState.DEAD)
    assert (await email_follow_up(node, row.id)).state == FollowUpState.DEAD
    assert mail_server.received == []
