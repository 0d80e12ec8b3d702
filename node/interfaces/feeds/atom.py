"""Atom (RFC 4287) feed of a chapter's action calls, next to the iCalendar feed."""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from protocol.events import ActionCall, summary_line
from protocol.jsonld import CHAPTERHOUSE_NS
from protocol.localtime import in_zone, local_iso
from protocol.slots import slots_text
from protocol.timefmt import format_xsd_datetime
from storage.models import LocalActor


def _summary(call: ActionCall) -> str:
    """The call's summary line, then its slots and their places left, if it has any."""
    slots = slots_text(call.slots, call.timezone, in_zone(call.start, call.timezone).date())
    return f"{summary_line(call)} · {slots}" if slots else summary_line(call)


def atom_feed(chapter: LocalActor, found: Iterable[ActionCall]) -> str:
    """The feed document: entries newest-updated first, each linking the call's page."""
    calls = sorted(
        found,
        key=lambda c: c.updated or c.published,
        reverse=True,
    )
    updated = format_xsd_datetime(
        max((c.updated or c.published for c in calls), default=chapter.created_at)
    )
    entries = "".join(
        f"<entry><id>{escape(c.id)}</id><title>{escape(c.title)}</title>"
        f'<link rel="alternate" type="text/html" href="{escape(c.id)}"/>'
        f"<published>{format_xsd_datetime(c.published)}</published>"
        f"<updated>{format_xsd_datetime(c.updated or c.published)}</updated>"
        f"<summary>{escape(_summary(c))}</summary>"
        # When it happens, as the summary says it (the Atom dates above are edit times).
        f"<chapterhouse:start timezone={quoteattr(c.timezone or '')}>"
        f"{local_iso(c.start, c.timezone)}</chapterhouse:start>"
        f'<content type="html">{escape(c.content)}</content></entry>'
        for c in calls
    )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"'
        f' xmlns:chapterhouse="{CHAPTERHOUSE_NS}">'
        f"<id>{escape(chapter.ap_id)}/feed.atom</id><title>{escape(chapter.title or chapter.name)}</title>"
        f"<updated>{updated}</updated><author><name>{escape(chapter.title or chapter.name)}</name>"
        f"<uri>{escape(chapter.ap_id)}</uri></author>"
        f'<link rel="self" href="{escape(chapter.ap_id)}/feed.atom"/>'
        f'<link rel="alternate" type="text/html" href="{escape(chapter.ap_id)}"/>{entries}</feed>'
    )
    return body
