"""WebFinger (RFC 7033): ``acct:`` handles, JRD documents, and finding an actor's id in one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from protocol.errors import MalformedDocument
from protocol.jsonld import ACTIVITY_JSON, as_list

JRD_JSON: Final = "application/jrd+json"
AP_LINK_TYPES: Final = frozenset(
    {ACTIVITY_JSON, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}
)
REMOTE_FOLLOW_REL: Final = "http://ostatus.org/schema/1.0/subscribe"


@dataclass(frozen=True, slots=True)
class Handle:
    """``user@host[:port]``: a fediverse account address."""

    user: str
    host: str

    def __str__(self) -> str:
        return f"{self.user}@{self.host}"

    @property
    def resource(self) -> str:
        return f"acct:{self}"


def parse_handle(value: str) -> Handle:
    """Accept ``acct:user@host``, ``@user@host`` or ``user@host`` (host may carry a port)."""
    text = value.strip()
    if text.startswith("acct:"):
        text = text[5:]
    text = text.removeprefix("@")
    user, sep, host = text.rpartition("@")
    if not sep or not user or not host or "@" in user or "/" in host or len(text) > 320:
        raise MalformedDocument(f"{value!r} is not a handle of the form user@host")
    if any(ch.isspace() for ch in text):
        raise MalformedDocument(f"{value!r} contains whitespace")
    return Handle(user, host.lower())


def webfinger_url(handle: Handle, *, scheme: str = "https") -> str:
    """Where to look a handle up."""
    resource = quote(handle.resource, safe=":@")
    return f"{scheme}://{handle.host}/.well-known/webfinger?resource={resource}"


def build_jrd(
    subject: str,
    actor_id: str,
    profile_url: str,
    *,
    aliases: Sequence[str] = (),
    subscribe_template: str | None = None,
) -> dict[str, object]:
    """The JRD answering a WebFinger query for a local actor."""
    links: list[dict[str, str]] = [
        {"rel": "self", "type": ACTIVITY_JSON, "href": actor_id},
        {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile_url},
    ]
    if subscribe_template is not None:
        links.append({"rel": REMOTE_FOLLOW_REL, "template": subscribe_template})
    return {"subject": subject, "aliases": [actor_id, *aliases], "links": links}


def actor_id_from_jrd(doc: object) -> str:
    """The ActivityPub actor id a JRD points at (the ``self`` link of an AP media type)."""
    if not isinstance(doc, Mapping):
        raise MalformedDocument("WebFinger answer must be a JSON object")
    for link in as_list(doc.get("links")):
        if not isinstance(link, Mapping) or link.get("rel") != "self":
            continue
        media = link.get("type")
        href = link.get("href")
        if isinstance(media, str) and media.strip() in AP_LINK_TYPES and isinstance(href, str):
            return href
    raise MalformedDocument("WebFinger answer has no ActivityPub self link")
