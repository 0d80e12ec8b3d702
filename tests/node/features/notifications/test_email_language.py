"""Notification e-mails in the recipient's language, through a real SMTP server on loopback:
the member's own ``language``, else the node's ``default_language``; dates in the call's zone
as that language writes them; and nothing in a mail that the catalogue does not say."""

from __future__ import annotations

import html
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton

from node.features.notifications.kinds import Kind
from node.features.notifications.listing import shown
from node.features.notifications.wording import speech_for, when
from storage.models import LocalActor
from tests.rig.notifying import CALL, START, member_with_address, organiser_and_call, tell
from tests.rig.pseudo_locale import leftover_words, pseudo_catalogues
from tests.rig.smtp import MailServer

ADA = "ada@example.org"
BO = "bo@example.org"


async def _speaks(node, name: str, language: str | None) -> None:
    async with node.services.db.write() as session:
        member = await session.get(LocalActor, await _id(node, name))
        assert member is not None
        member.language = language


async def _id(node, name: str) -> int:
    from storage.repositories import actors as actor_repo

    async with node.services.db.read() as session:
        member = await actor_repo.local_actor_by_name(session, name)
        assert member is not None
        return member.id


async def test_a_member_who_reads_french_gets_the_mail_in_french_in_the_calls_zone(
    nodes, mail_server: MailServer
):
    node = await nodes(**mail_server.settings(), node_name="Green Park Node", default_language="de")
    _, call = await organiser_and_call(node)
    await member_with_address(node, "ada", ADA)
    await member_with_address(node, "bo", BO)
    await _speaks(node, "ada", "fr")  # bo chose nothing: the node's default, German

    told = await tell(node, "ada", Kind.ACCEPTED, call)
    await tell(node, "bo", Kind.ACCEPTED, call)
    [mail] = await mail_server.wait_for(ADA)
    [german] = await mail_server.wait_for(BO)

    assert mail.subject == "Vous participez : Canal clean-up"
    assert mail.message["Content-Language"] == "fr"
    text = mail.text()
    assert "Votre place pour Canal clean-up est confirmée" in text
    assert "Vous recevez ce courriel parce que vous êtes membre de Green Park Node." in text
    assert "Ne plus recevoir ces courriels" in text and "You get this e-mail" not in text
    # The date as French writes it, in the call's zone (Europe/London), not UTC's.
    local = START.astimezone(ZoneInfo(CALL["timezone"]))
    day = format_skeleton("yMMMEd", local, locale="fr")
    assert day in text and local.strftime("%H:%M") in text and "(Europe/London)" in text
    assert re.search(r"[a-zé]+\. \d{1,2} [a-zéû]+\.? \d{4}", day)  # e.g. "lun. 12 avr. 2027"
    page = mail.html()
    assert '<html lang="fr">' in page and "En savoir plus" in page

    assert german.subject == "Du bist dabei: Canal clean-up"
    assert "Du erhältst diese E-Mail" in german.text()
    assert format_skeleton("yMMMEd", local, locale="de") in german.text()

    # The in-app list words the same row in whatever language its reader asks for.
    assert told is not None
    assert shown(told, speech_for(node.services, "es")).subject == "Vas a ir: Canal clean-up"
    assert shown(told).subject == "You're going: Canal clean-up"


async def test_a_reminder_counts_in_the_readers_language(nodes, mail_server: MailServer):
    node = await nodes(**mail_server.settings())
    _, call = await organiser_and_call(node)
    await member_with_address(node, "ada", ADA)
    await _speaks(node, "ada", "es")
    await tell(node, "ada", Kind.REMINDER, call, offset_minutes=120)
    [mail] = await mail_server.wait_for(ADA)
    assert mail.subject == "Recordatorio: Canal clean-up dentro de 2 horas"


async def test_nothing_in_a_mail_escapes_the_catalogue(nodes, mail_server: MailServer, tmp_path):
    """Every word of the mail that is not data comes from the catalogue: with a pseudo-locale
    (each msgid marked ⟦…⟧), no English is left outside the markers."""
    node = await nodes(**mail_server.settings(), node_name="Green Park Node")
    node.services.catalogues = pseudo_catalogues(tmp_path)
    _, call = await organiser_and_call(node)
    await member_with_address(node, "ada", ADA)
    await _speaks(node, "ada", "fr")
    kinds = [Kind.ACCEPTED, Kind.WAITLISTED, Kind.CANCELLED, Kind.REMINDER, Kind.REPORT_DUE]
    rows = []
    for number, kind in enumerate(kinds):
        extra = {"position": 2, "reason": "Xqz", "offset_minutes": 1440}
        rows.append(await tell(node, "ada", kind, call, key=str(number), **extra))
    mails = await mail_server.wait_for(ADA, count=len(kinds))
    assert len(mails) == len(kinds)
    for row in rows:
        assert row is not None
    data = [
        "Canal clean-up",
        "Green Park Node",
        "Green Park",
        "Lock 7, Towpath, Green Park",
        "Xqz",
        *(when(row.data, "fr") for row in rows if row is not None),
    ]
    for mail in mails:
        urls = re.findall(r"https?://\S+", mail.text() + " " + html.unescape(mail.html()))
        plain = mail.text()
        page = html.unescape(re.sub(r"<[^>]+>", " ", mail.html().split("<body>", 1)[1]))
        for text in (mail.subject, plain, page):
            left = leftover_words(text, [*data, *urls, *[u.strip('"') for u in urls]])
            assert left == [], (mail.subject, left, text)


def test_dates_are_written_for_each_language():
    data = {
        "start": datetime(2027, 4, 12, 8, 0, tzinfo=ZoneInfo("UTC")).isoformat(),
        "end": datetime(2027, 4, 12, 10, 30, tzinfo=ZoneInfo("UTC")).isoformat(),
        "timezone": "Europe/Paris",
    }
    assert when(data, "en") == "Mon 12 Apr 2027 10:00–12:30 (Europe/Paris)"
    assert when(data, "fr").startswith("lun. 12 avr. 2027")
    assert "10:00" in when(data, "fr") and "12:30" in when(data, "fr")
    assert when(data, "de").startswith("Mo., 12. Apr. 2027")
    assert when(data, "es").startswith("lun, 12 abr 2027")
