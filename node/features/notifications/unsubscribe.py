"""Unsubscribe links that cannot be forged: every notification e-mail carries one (in its text
and in ``List-Unsubscribe``), and following it turns that member's e-mail off with no sign-in.

A token is ``MEMBER_ID.ADDRESS_TAG.MAC``: the tag is the first 16 bytes of the SHA-256 of the
address the mail went to (case-folded), and the MAC an HMAC-SHA-256 (``cryptography``) of the id
and the tag under a secret of this node (``unsubscribe.key`` in the data directory, 32 random
bytes, 0600, made on first use). Without the secret nobody can make a token for another member
or another address, and the comparison is constant-time (``HMAC.verify``).

The tag ties a link to one address: a link from mail sent to an old address cannot turn off
mail to the member's new one (the old mailbox may belong to someone else by now). A valid link
whose address no longer gets mail says so and changes nothing, so following it twice is fine.

Unsubscribing clears the member's stored address (``local_actors.email``): the node then keeps
no address it will not use, every later notification is in-app only, and the member can give
an address again on /me or with ``chapterhouse member update``.

The key lives beside ``session.key`` and, like it, is not in backups: after a restore to a new
data directory, links in mail sent before answer 403 (members can still turn e-mail off on /me).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac

from node.runtime.private_files import write_private
from node.runtime.services import Services
from protocol.errors import N_, WordedError
from storage.models import LocalActor
from storage.models.states import ActorKind

KEY_FILE: Final = "unsubscribe.key"
KEY_BYTES: Final = 32
_DOMAIN: Final = b"chapterhouse unsubscribe v1\n"  # what the MAC is for, so no other use shares it
_TOKEN = re.compile(
    r"(?P<member>[1-9][0-9]{0,17})\.(?P<tag>[A-Za-z0-9_-]{22})\.(?P<mac>[A-Za-z0-9_-]{43})"
)


class InvalidUnsubscribeLink(WordedError):
    """The token was not made by this node (altered, truncated or forged)."""


class DamagedKey(WordedError):
    """The node's unsubscribe secret on disk is too short to sign with (cut off, or edited):
    links made with another key would not be honoured, so nothing is signed until it is fixed."""


class Outcome(StrEnum):
    UNSUBSCRIBED = "unsubscribed"  # e-mail was on for that address: now off
    ALREADY_OFF = "already_off"  # no mail goes to that address (any more)


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """What a valid link names: the member, and whether their mail still goes to its address."""

    member_id: int
    member_name: str
    address: str | None  # the address mail goes to now, when it is the link's


def unsubscribe_key(data_dir: Path) -> bytes:
    """This node's unsubscribe secret, made once (by whichever process needs it first)."""
    path = data_dir / KEY_FILE
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = _create_key(path)
    if len(key) < KEY_BYTES:
        raise DamagedKey(
            N_("{path} is damaged (shorter than {count} bytes)"), path=str(path), count=KEY_BYTES
        )
    return key[:KEY_BYTES]


def _create_key(path: Path) -> bytes:
    """Write a new key under a temporary name, then link it into place: ``link`` fails if
    another process (``serve`` beside ``worker``) made the key meanwhile, and then its key is
    the one used, so both never sign with different secrets and nobody reads a half-written
    file."""
    key = secrets.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    write_private(temporary, key, exclusive=True)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return path.read_bytes()
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return key


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def address_tag(address: str) -> str:
    return _b64(hashlib.sha256(address.strip().casefold().encode("utf-8")).digest()[:16])


def _mac(key: bytes, member_id: int, tag: str) -> hmac.HMAC:
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(_DOMAIN + f"{member_id}.{tag}".encode("ascii"))
    return mac


def make_token(key: bytes, member_id: int, address: str) -> str:
    tag = address_tag(address)
    return f"{member_id}.{tag}.{_b64(_mac(key, member_id, tag).finalize())}"


def check_token(key: bytes, token: str) -> tuple[int, str]:
    """The member id and address tag a token names; ``InvalidUnsubscribeLink`` unless this
    node's key made it."""
    found = _TOKEN.fullmatch(token.strip())
    if found is None:
        raise InvalidUnsubscribeLink(N_("this unsubscribe link is incomplete or altered"))
    member_id, tag = int(found["member"]), found["tag"]
    try:
        _mac(key, member_id, tag).verify(_unb64(found["mac"]))
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise InvalidUnsubscribeLink(N_("this unsubscribe link was not made by this node")) from exc
    return member_id, tag


def unsubscribe_url(services: Services, member_id: int, address: str) -> str:
    """The link an e-mail to ``address`` carries (in its text and ``List-Unsubscribe``)."""
    token = make_token(unsubscribe_key(services.settings.data_dir), member_id, address)
    return services.ids.url("unsubscribe") + "?token=" + quote(token, safe="")


async def link_target(services: Services, token: str) -> LinkTarget:
    """Who a link names (for the confirmation page); nothing changes."""
    member_id, tag = check_token(unsubscribe_key(services.settings.data_dir), token)
    async with services.db.read() as session:
        member = await session.get(LocalActor, member_id)
    if member is None or member.kind != ActorKind.MEMBER:  # deleted since: nothing to stop
        return LinkTarget(member_id, "", None)
    current = member.email if member.email and address_tag(member.email) == tag else None
    return LinkTarget(member.id, member.name, current)


async def unsubscribe(services: Services, token: str) -> Outcome:
    """Turn off e-mail to the link's address: the member's address is cleared, if it is still
    the one the link was sent to."""
    member_id, tag = check_token(unsubscribe_key(services.settings.data_dir), token)
    async with services.db.write() as session:
        member = await session.get(LocalActor, member_id)
        if (
            member is None
            or member.kind != ActorKind.MEMBER
            or not member.email
            or address_tag(member.email) != tag
        ):
            return Outcome.ALREADY_OFF
        member.email = None
    return Outcome.UNSUBSCRIBED
