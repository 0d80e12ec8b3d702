"""A member's notification settings: the e-mail address notifications go to (none: in-app
only) and whether they want reminders before the calls they are going to.

An address is checked before it is stored, because it ends up in a ``To:`` header and an SMTP
``RCPT TO``: a line break (header injection), a control character, a space or a display name
(``Ada <ada@example.org>``) is refused, and so is anything that is not one ``local@domain``
with a dotted domain. The local part must be ASCII (not every relay speaks SMTPUTF8); an
internationalised domain is stored in its ASCII (IDNA) form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import Final

from node.features.actors.authz import NotFoundError
from node.runtime.services import Services
from protocol.errors import N_, WordedError
from storage.models import LocalActor
from storage.models.states import ActorKind
from storage.repositories import actors as actor_repo

MAX_ADDRESS: Final = 254  # RFC 5321's limit on a path, less the angle brackets
_LOCAL: Final = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL: Final = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


class AddressError(WordedError):
    """Not an e-mail address this node will send to (the message says why). Its ``wording``
    and ``params`` let the reader's interface word it in their language (the CLI and the
    settings page do); ``str()`` is the English."""


def valid_address(text: str) -> str:
    """``text`` as a plain ``local@domain`` address (surrounding spaces dropped, the domain
    lower-cased and in ASCII), or ``AddressError``."""
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise AddressError(
            N_("an e-mail address may not contain line breaks or control characters")
        )
    value = text.strip()
    if not value:
        raise AddressError(N_("the e-mail address is empty"))
    if any(c.isspace() for c in value) or "<" in value or ">" in value:
        raise AddressError(
            N_("{value!r} is not an e-mail address (give just local@domain)"), value=value
        )
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise AddressError(N_("{value!r} is not an e-mail address (no local@domain)"), value=value)
    if not local.isascii() or _LOCAL.fullmatch(local) is None or len(local) > 64:
        raise AddressError(
            N_("{value!r} is not an e-mail address (its part before @)"), value=value
        )
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise AddressError(
            N_("{value!r} is not an e-mail address (its domain)"), value=value
        ) from exc
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise AddressError(N_("{value!r} is not an e-mail address (its domain)"), value=value)
    address = f"{local}@{ascii_domain}"
    if len(address) > MAX_ADDRESS:
        raise AddressError(
            N_("the e-mail address is longer than {count} characters"), count=MAX_ADDRESS
        )
    try:  # the standard library's parser, which will write the header, agrees
        parsed = Address(addr_spec=address)
    except (HeaderParseError, ValueError, IndexError) as exc:
        raise AddressError(N_("{value!r} is not an e-mail address"), value=value) from exc
    if parsed.addr_spec != address:
        raise AddressError(N_("{value!r} is not an e-mail address"), value=value)
    return address


@dataclass(frozen=True, slots=True)
class Unchanged:
    """Leave this setting as it is."""


KEEP: Final = Unchanged()


async def update_member_settings(
    services: Services,
    member: str | int,
    *,
    email: str | Unchanged | None = KEEP,
    reminders: bool | Unchanged = KEEP,
) -> LocalActor:
    """Change a member's address (None or "": no e-mail) and reminder choice; ``member`` is a
    name or a local actor id. The address is checked first: a bad one changes nothing."""
    address: str | Unchanged | None = email
    if isinstance(email, str):
        address = valid_address(email) if email.strip() else None
    async with services.db.write() as session:
        if isinstance(member, int):
            actor = await session.get(LocalActor, member)
        else:
            actor = await actor_repo.local_actor_by_name(session, member)
        if actor is None or actor.kind != ActorKind.MEMBER:
            raise NotFoundError(N_("no member named {name!r}"), name=member)
        if not isinstance(address, Unchanged):
            actor.email = address
        if not isinstance(reminders, Unchanged):
            actor.reminders = reminders
    return actor
