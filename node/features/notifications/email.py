"""Sending one notification's e-mail: the handler of follow-ups of kind ``notification_email``
(recorded by ``notify``; payload ``{"notification": id}``), sent with ``aiosmtplib``.

The mail says what the in-app list says (``describe``): the subject, the sentence, a link to
the call, as a text part and an HTML part; confirmations, changes and reminders
(``WITH_CALENDAR``) carry the call's ``.ics`` when the call is stored here. Every mail has an
unsubscribe link that cannot be forged (``unsubscribe.py``), also as ``List-Unsubscribe`` with
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), so a mail client's button
turns it off with one POST.

What is decided when the mail goes out, not when the notification was made:

- the address is the member's address now; a member who removed it or unsubscribed gets
  nothing (``email_state`` back to None: no mail is due);
- a reminder is never sent for a call that is cancelled by then, whose start has moved since
  (the new start has reminders of its own), which the member has left, or once the member
  turned reminders off.

Delivery: a temporary failure (the server down, a 4xx answer, a timeout, a refused login)
raises, and the follow-up worker tries again with backoff; a permanent refusal (a 5xx to the
recipient or to the message) marks the mail dead at once (``PermanentFailure``). The state
is written after the server accepted the mail, so a crash between the two sends the mail
again on the next try (at least once, never lost); the Message-ID stays the same, so mail
clients can tell the copies apart.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Final

import aiosmtplib

from node.features.notifications.kinds import WITH_CALENDAR, Kind
from node.features.notifications.listing import web_link
from node.features.notifications.preferences import AddressError, valid_address
from node.features.notifications.unsubscribe import unsubscribe_url
from node.features.notifications.wording import describe, speech_for
from node.federation.followups.queue import PermanentFailure, RetryLater
from node.runtime.config import Settings
from node.runtime.services import Services
from protocol.errors import N_, ProtocolError, WordedError
from protocol.events import CANCELLED, parse_event
from protocol.ical import calendar_ics
from storage.models import ActionCall as CallRow
from storage.models import Commitment, LocalActor, Notification
from storage.models.states import ActorKind, CommitmentState, EmailState
from storage.repositories import actions as action_repo
from storage.repositories import notifications as notification_repo

log = logging.getLogger(__name__)

ONE_CLICK: Final = "List-Unsubscribe=One-Click"
#: Commitments that mean the member is not going: no reminder for those calls.
NOT_GOING: Final = frozenset(
    {CommitmentState.LEFT, CommitmentState.REMOVED, CommitmentState.REJECTED}
)
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]+")


class MailRefused(PermanentFailure, WordedError):
    """No later try can send this mail (``PermanentFailure``), worded with its data."""


class MailDeferred(RetryLater, WordedError):
    """The mail is to be tried again later (``RetryLater``), worded with its data."""


@dataclass(frozen=True, slots=True)
class Mail:
    """What one notification's e-mail is, read from the database before anything is sent."""

    notification_id: int
    address: str
    message: EmailMessage


def smtp_port(settings: Settings) -> int:
    """The port to connect to: ``smtp_port``, or the usual one for the security chosen."""
    if settings.smtp_port:
        return settings.smtp_port
    return 465 if settings.smtp_security == "tls" else 25


def one_line(text: str) -> str:
    """Header text on one line: a title from a remote document may hold line breaks, which
    would end the header (header injection) and which ``email`` refuses outright."""
    return _CONTROL.sub(" ", text).strip()


async def send_notification_email(services: Services, payload: Mapping[str, Any]) -> None:
    """The follow-up handler (``NOTIFICATION_EMAIL``)."""
    notification_id = payload.get("notification")
    if type(notification_id) is not int:
        raise MailRefused(N_("payload names no notification: {payload!r}"), payload=payload)
    mail = await _prepare(services, notification_id)
    if mail is None:
        return
    try:
        await _send(services.settings, mail)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [refusal.code for refusal in exc.recipients]
        if codes and all(500 <= code < 600 for code in codes):
            await _finish(services, notification_id, EmailState.DEAD)
            raise MailRefused(
                N_("the mail server refused the recipient ({code})"), code=codes[0]
            ) from exc
        raise MailDeferred(
            N_("the mail server deferred the recipient ({codes})"), codes=str(codes)
        ) from exc
    except aiosmtplib.SMTPDataError as exc:
        if 500 <= exc.code < 600:
            await _finish(services, notification_id, EmailState.DEAD)
            raise MailRefused(
                N_("the mail server refused the message ({code})"), code=exc.code
            ) from exc
        raise MailDeferred(
            N_("the mail server deferred the message ({code})"), code=exc.code
        ) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:  # down, timed out, login refused, TLS
        raise MailDeferred(
            N_("could not hand the mail over: {kind}: {reason}"),
            kind=exc.__class__.__name__,
            reason=str(exc),
        ) from exc
    await _finish(services, notification_id, EmailState.SENT)
    log.info("notification.email_sent", extra={"notification": notification_id})


async def _finish(services: Services, notification_id: int, state: str | None) -> None:
    async with services.db.write() as session:
        await notification_repo.set_email_state(
            session, notification_id, state, only_if=EmailState.PENDING
        )


async def _prepare(services: Services, notification_id: int) -> Mail | None:
    """The mail to send, or None when none is due (then recorded as such)."""
    async with services.db.read() as session:
        row = await notification_repo.by_id(session, notification_id)
        if row is None or row.email_state != EmailState.PENDING:
            return None  # gone, or already sent or dead: the work is done
        member = await session.get(LocalActor, row.member_id) if row.member_id else None
        call_row = await action_repo.call_by_ap_id(session, row.call) if row.call else None
        commitment = (
            await action_repo.commitment(session, member.id, row.call)
            if member is not None and row.call
            else None
        )
    why_not = _why_not(services, row, member, call_row, commitment)
    if why_not is not None or member is None or not member.email:
        log.info(
            "notification.email_skipped",
            extra={"notification": notification_id, "reason": why_not or "no address"},
        )
        await _finish(services, notification_id, None)
        return None
    calendar = None
    if row.kind in WITH_CALENDAR and call_row is not None:
        try:
            call = parse_event(call_row.document, allow_http=services.settings.allow_http)
        except ProtocolError:
            call = None  # a stored document we can no longer read: the mail goes without it
        if call is not None:
            data = row.data if isinstance(row.data, dict) else {}
            title = str(data.get("chapter") or services.settings.node_name)
            calendar = calendar_ics(title, [call], now=services.clock.now())
    try:  # an address stored some other way than the forms and the CLI, which check it
        valid_address(member.email)
    except AddressError as exc:
        await _finish(services, notification_id, EmailState.DEAD)
        raise MailRefused(
            N_("the member's address is not one to send to: {reason}"), reason=str(exc)
        ) from exc
    message = build_message(services, row, member, calendar)
    return Mail(row.id, member.email, message)


def _why_not(
    services: Services,
    row: Notification,
    member: LocalActor | None,
    call_row: CallRow | None,
    commitment: Commitment | None,
) -> str | None:
    if not services.settings.smtp_host:
        return "the node has no SMTP settings any more"
    if member is None or member.kind != ActorKind.MEMBER:
        return "not a member"
    if not member.email:
        return "no address (removed, or unsubscribed)"
    if row.kind != Kind.REMINDER:
        return None
    if not member.reminders:
        return "the member turned reminders off"
    if commitment is not None and commitment.state in NOT_GOING:
        return "the member is not going any more"
    if call_row is not None:
        if call_row.status == CANCELLED:
            return "the call is cancelled"
        data = row.data if isinstance(row.data, dict) else {}
        try:
            promised = datetime.fromisoformat(str(data["start"]))
        except (KeyError, ValueError):
            return None
        if promised != call_row.start_time:
            return "the call's start has moved since"
    return None


def build_message(
    services: Services, row: Notification, member: LocalActor, calendar: bytes | None
) -> EmailMessage:
    """The e-mail of notification ``row`` to ``member``'s address, in the member's language
    (``local_actors.language``, else the node's ``default_language``)."""
    settings = services.settings
    address = str(member.email)
    data = row.data if isinstance(row.data, dict) else {}
    speech = speech_for(services, member.language)
    _ = speech.translations.gettext
    words = describe(row.kind, data, speech)
    link = web_link(data.get("url")) or web_link(row.call)
    unsubscribe = unsubscribe_url(services, member.id, address)
    settings_page = services.ids.url("me")
    node_name = one_line(settings.node_name)

    message = EmailMessage()
    message["From"] = Address(display_name=node_name, addr_spec=settings.smtp_from)
    message["To"] = Address(addr_spec=address)
    message["Subject"] = one_line(words.subject)
    message["Date"] = format_datetime(services.clock.now())
    stamp = int(row.created_at.timestamp())
    message["Message-ID"] = f"<notification.{row.id}.{stamp}@{services.ids.origin.host}>"
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = ONE_CLICK
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to this

    more_about = _("More about it")
    why = _("You get this e-mail because you are a member of {node}.")
    settings_words = _("Your notifications and e-mail settings")
    stop_words = _("Stop these e-mails")
    lines = [words.text, ""]
    if link:
        lines += [f"{more_about}: {link}", ""]
    lines += [
        "--",
        why.format(node=node_name),
        f"{settings_words}: {settings_page}",
        f"{stop_words}: {unsubscribe}",
    ]
    message.set_content("\n".join(lines) + "\n")

    more = f'<p><a href="{html.escape(link)}">{html.escape(more_about)}</a></p>\n' if link else ""
    message.add_alternative(
        "<!doctype html>\n"
        f'<html lang="{speech.language}"><head><meta charset="utf-8">'
        f"<title>{html.escape(words.subject)}</title></head>\n"
        f"<body>\n<p>{html.escape(words.text)}</p>\n{more}"
        '<hr><p style="font-size:small;color:#555">'
        f"{html.escape(why.format(node=node_name))} "
        f'<a href="{html.escape(settings_page)}">{html.escape(settings_words)}</a> · '
        f'<a href="{html.escape(unsubscribe)}">{html.escape(stop_words)}</a></p>\n'
        "</body></html>\n",
        subtype="html",
    )
    if calendar is not None:
        message.add_attachment(
            calendar, maintype="text", subtype="calendar", filename="action-call.ics"
        )
    message["Content-Language"] = speech.language  # RFC 3282; after the parts, which reset it
    return message


async def _send(settings: Settings, mail: Mail) -> None:
    """Hand the mail to the configured server: implicit TLS (``tls``), STARTTLS when the server
    offers it (``starttls``) or plain (``none``); a login only when a user is set."""
    security = settings.smtp_security
    await aiosmtplib.send(
        mail.message,
        sender=settings.smtp_from,
        recipients=[mail.address],
        hostname=settings.smtp_host,
        port=smtp_port(settings),
        username=settings.smtp_user or None,
        password=settings.smtp_password if settings.smtp_user else None,
        use_tls=security == "tls",
        start_tls=None if security == "starttls" else False,
        timeout=settings.smtp_timeout_seconds,
    )
