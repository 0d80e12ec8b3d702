"""Direct messages: a ``Create{Note}`` addressed to one person only and mentioning them, which
Mastodon and most fediverse apps show as a private mention. The node uses them to tell remote
participants what their own software has no activity for (a waitlisted RSVP, a reminder, a
poll vote's answer)."""

from __future__ import annotations

from html import escape
from typing import Final

from protocol.activities import build_create

#: Our extension on a direct message: what it is about (a notification kind, FEDERATION.md).
NOTICE: Final = "chapterhouse:notice"


def mention_html(actor: str, handle: str | None) -> str:
    """The mention that opens the message: ``@name@host`` linked to the actor."""
    label = f"@{handle}" if handle else actor
    return (
        f'<span class="h-card"><a href="{escape(actor, quote=True)}" class="u-url mention">'
        f"{escape(label)}</a></span>"
    )


def build_direct_message(
    *,
    note_id: str,
    activity_id: str,
    sender: str,
    recipient: str,
    handle: str | None,
    text: str,
    link: str | None,
    published: str,
    notice: str,
    in_reply_to: str | None = None,
) -> dict[str, object]:
    """A ``Create{Note}`` from ``sender`` to ``recipient`` alone (no followers, not public):
    ``text`` (plain) after a mention of the recipient, then ``link``."""
    paragraphs = [f"{mention_html(recipient, handle)} {escape(text)}"]
    if link:
        href = escape(link, quote=True)
        paragraphs.append(f'<a href="{href}">{escape(link)}</a>')
    note: dict[str, object] = {
        "id": note_id,
        "type": "Note",
        "attributedTo": sender,
        "to": [recipient],
        "cc": [],
        "published": published,
        "content": "".join(f"<p>{p}</p>" for p in paragraphs),
        "tag": [{"type": "Mention", "href": recipient, "name": f"@{handle or recipient}"}],
        NOTICE: notice,
    }
    if link:
        note["url"] = link
        note["context"] = link
    if in_reply_to:
        note["inReplyTo"] = in_reply_to
    return build_create(activity_id, sender, note)
