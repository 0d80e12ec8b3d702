"""What pages call an actor: a name, a ``@user@host`` handle and a link, never a raw IRI when
anything better is known.

Every page that lists people or chapters (campaign tables, follows, followers, participants,
commitments, flags) asks here, so they all say the same thing. Only what this node already holds
is used: local actors (their title, else their name) and cached remote actor documents (their
``name``, else ``preferredUsername``). A page never fetches: an actor we have no copy of is shown
by its IRI, which is then the best we know.

A remote document is someone else's text: its name is cut to one short line, and its ``url`` is
linked only when it is an http(s) page on the actor's own host (a profile elsewhere could be
anyone's). An IRI that is not http(s) is shown but not linked.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from node.runtime.services import Services
from storage.models import LocalActor, RemoteActor
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo

MAX_NAME = 100  # characters of a remote display name shown


@dataclass(frozen=True, slots=True)
class Person:
    """How a page shows one actor."""

    iri: str
    name: str  # the display name, else the handle, else the IRI
    handle: str | None  # ``@user@host``, when known
    url: str | None  # where a link to them goes (None: not a web address; show, don't link)
    known: bool  # whether this node holds anything about them

    @property
    def secondary(self) -> str | None:
        """The handle, when the name is something else (``Green Park · @greenpark@host``)."""
        return self.handle if self.handle and self.handle != self.name else None


def _web(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def _authority(iri: str) -> str | None:
    try:
        return urlsplit(iri).netloc.lower() or None
    except ValueError:
        return None


def unknown(iri: str) -> Person:
    """An actor this node holds nothing about: shown by its IRI (linked if it is a web address)."""
    return Person(iri, iri, None, iri if _web(iri) else None, False)


def _clean(text: object) -> str | None:
    """One short line of a remote name: control and format characters dropped (no bidi tricks,
    no line breaks), whitespace collapsed, cut to ``MAX_NAME``."""
    if not isinstance(text, str):
        return None
    kept = "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch)[0] != "C")
    line = " ".join(kept.split())[:MAX_NAME].strip()
    return line or None


def local_person(actor: LocalActor) -> Person:
    host = _authority(actor.ap_id)
    handle = f"@{actor.name}@{host}" if host else None
    return Person(actor.ap_id, actor.title or actor.name, handle, actor.ap_id, True)


def remote_person(actor: RemoteActor) -> Person:
    doc = actor.document if isinstance(actor.document, dict) else {}
    user = _clean(actor.preferred_username or doc.get("preferredUsername"))
    handle = f"@{user}@{actor.host}" if user and actor.host else None
    name = _clean(doc.get("name")) or handle or actor.ap_id
    page = doc.get("url")
    if isinstance(page, dict):  # a Link object
        page = page.get("href")
    same_host = isinstance(page, str) and _authority(page) == _authority(actor.ap_id)
    url = page if same_host and isinstance(page, str) and _web(page) else None
    if url is None and _web(actor.ap_id):
        url = actor.ap_id
    return Person(actor.ap_id, name, handle, url, True)


async def display_names(session: AsyncSession, iris: Iterable[object]) -> dict[str, Person]:
    """Every IRI in ``iris`` with how to show it (unknown ones by their IRI). Anything that is
    not a non-empty string (a stored document's odd value) is skipped."""
    wanted = [i for i in dict.fromkeys(iris) if isinstance(i, str) and i]
    local, remote = await actor_repo.actors_by_ap_ids(session, wanted)
    found = {r.ap_id: remote_person(r) for r in remote}
    found.update({a.ap_id: local_person(a) for a in local})  # ours win over any cached copy
    return {iri: found.get(iri) or unknown(iri) for iri in wanted}


async def names_of(services: Services, iris: Iterable[object]) -> dict[str, Person]:
    """``display_names`` in a read transaction of its own."""
    async with services.db.read() as session:
        return await display_names(session, iris)


async def call_titles(services: Services, iris: Iterable[str]) -> dict[str, str]:
    """The titles of the calls among ``iris`` that this node holds (a commitment's call shown
    by its name); calls we hold no copy of are left out, and shown by their address."""
    async with services.db.read() as session:
        docs = await action_repo.documents_by_ap_id(session, list(dict.fromkeys(iris)))
    titles = {iri: _clean(doc.get("name")) for iri, doc in docs.items() if isinstance(doc, dict)}
    return {iri: title for iri, title in titles.items() if title}
