"""The cached copy of a remote actor, and the keys that storing a newer one supersedes.

Two paths store an actor's document: the resolver, when it fetches one, and the inbox worker,
when the actor sends its own ``Update`` (often after a key rotation). Both go through
:func:`store_actor_row`, so the rules about replaced keys hold whichever process stored it:

* the row lists another key id than before: the old id is recorded in ``superseded_keys`` and
  refused for good, everywhere;
* the row lists the same key id with another key (how Mastodon's ``#main-key`` and
  ``chapterhouse keys rotate`` rotate): the old key is recorded as a retired-key marker
  (``key_repo.retired_marker``, keyed by its fingerprint), which every process's poll uses to
  drop that key from its cache. The marker counts for ``retire_for`` (``key_cache_seconds``):
  meanwhile a document listing the old key again is stale and refused (a cached copy must not
  bring it back and retire the new one); afterwards a peer that truly went back to it (a
  restored backup) is believed, so it is locked out for at most that long, never for good.

Keys are compared by fingerprint, not by PEM text: the same key spelt another way (PKCS#1
instead of SubjectPublicKeyInfo, other line breaks) is no rotation.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from sqlalchemy.ext.asyncio import AsyncSession

from protocol.actors import Actor
from protocol.errors import ChapterhouseError, MalformedDocument
from protocol.ids import authority_of
from protocol.keys import PublicKey, public_key_from_pem
from storage.repositories import actors as actor_repo
from storage.repositories import keys as key_repo

log = logging.getLogger(__name__)


class StaleActorDocument(ChapterhouseError):
    """The document lists a key its actor has replaced (a cached copy, an old one replayed):
    it is not stored."""


@dataclass(frozen=True, slots=True)
class Superseded:
    """What storing an actor's document recorded in ``superseded_keys``."""

    key_id: str | None = None  # a key id the actor replaced by another id
    marker: str | None = None  # the old key behind an id the actor kept (a retired-key marker)


def key_fingerprint(key: PublicKey) -> str:
    """SHA-256 hex of the key's DER SubjectPublicKeyInfo: the same for every PEM spelling."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _pem_fingerprint(pem: str | None) -> str | None:
    """None for a PEM no cache could hold either (unreadable, or a key we refuse)."""
    if not pem:
        return None
    try:
        return key_fingerprint(public_key_from_pem(pem))
    except MalformedDocument:
        return None


def actor_row_values(actor: Actor, document: object, now: datetime) -> dict[str, Any]:
    return {
        "ap_id": actor.id,
        "actor_type": actor.type,
        "preferred_username": actor.preferred_username,
        "host": authority_of(actor.id),
        "inbox": actor.inbox,
        "shared_inbox": actor.shared_inbox,
        "public_key_id": actor.public_key_id,
        "public_key_pem": actor.public_key_pem,
        "document": document,
        "fetched_at": now,
        "gone_at": None,
    }


async def store_actor_row(
    session: AsyncSession, actor: Actor, document: object, now: datetime, *, retire_for: timedelta
) -> Superseded:
    """Upsert the cached copy of ``actor``; returns what it recorded as superseded.

    A replaced key id is recorded (and the row's ``public_key_id`` overwritten, so the old id
    no longer finds it); a key replaced under the same id is recorded as a marker that counts
    for ``retire_for``. A document listing a superseded key id, or a key retired less than
    ``retire_for`` ago, raises :class:`StaleActorDocument`. A document without a usable key
    supersedes nothing (it is more likely broken than revoked).
    """
    new_key = actor.public_key_id
    new_print = _pem_fingerprint(actor.public_key_pem) if new_key else None
    if new_key and await key_repo.is_superseded(session, new_key):
        raise StaleActorDocument(
            f"the document of {actor.id} lists key {new_key}, which it has since replaced "
            "(a stale copy?)"
        )
    if new_key and new_print:
        retired = await key_repo.superseded_at(session, key_repo.retired_marker(new_key, new_print))
        if retired is not None and now - retired < retire_for:
            raise StaleActorDocument(
                f"the document of {actor.id} lists the key it replaced under {new_key} "
                "moments ago (a stale copy?)"
            )
    previous = await actor_repo.remote_actor(session, actor.id)
    await actor_repo.upsert_remote_actor(session, actor_row_values(actor, document, now))
    old_key = previous.public_key_id if previous is not None else None
    if old_key and new_key and old_key != new_key:
        await key_repo.record_superseded(session, old_key, actor.id, now)
        log.info("key.superseded", extra={"key_id": old_key, "actor": actor.id})
        return Superseded(key_id=old_key)
    old_print = _pem_fingerprint(previous.public_key_pem) if previous is not None else None
    if old_key and new_print and old_print and old_print != new_print:
        marker = key_repo.retired_marker(old_key, old_print)
        await key_repo.record_retired(
            session, marker, actor.id, now, expired_before=now - retire_for
        )
        log.info("key.retired", extra={"key_id": old_key, "actor": actor.id})
        return Superseded(marker=marker)
    return Superseded()
