"""Abuse reports (flags) and how an admin closes them.

A flag arrives open (a remote server's ``Flag`` or a member's report); an admin resolves it
with a note saying what was done. A resolution records who, when and the note, and is final:
resolving twice is refused rather than silently overwriting the first admin's account of it.
The CLI, the API and the admin page all resolve through ``resolve_flag``.
"""

from __future__ import annotations

from node.features.actors.authz import Forbidden, NotFoundError, Principal
from node.features.calls.input import FieldError
from node.runtime.services import INSTANCE_ACTOR, Services
from protocol.errors import N_, WordedError
from protocol.localtime import Moment
from storage.models import Flag
from storage.repositories import moderation as moderation_repo

NOTE_MAX_CHARS = 5000
#: Flag ids are database integers; anything outside this range names no flag (and must not
#: reach the driver, which cannot bind it).
MAX_FLAG_ID = 2**63 - 1


class FlagAlreadyResolved(WordedError):
    """The flag was resolved before; the message says by whom and when (the flag's id is
    passed as text: it is a name to type back, not a quantity to write the reader's way)."""

    def __init__(self, flag: Flag) -> None:
        params: dict[str, object] = {"id": str(flag.id)}
        if flag.resolved_by:
            params["by"] = flag.resolved_by
        if flag.resolved_at:
            params["when"] = Moment(flag.resolved_at, "UTC")
        super().__init__(_RESOLVED[("by" in params, "when" in params)], **params)
        self.flag = flag


#: How a resolved flag is described, by whether its resolver and its time are known.
_RESOLVED = {
    (True, True): N_("abuse report {id} is already resolved (by {by} at {when})"),
    (False, True): N_("abuse report {id} is already resolved (by an admin at {when})"),
    (True, False): N_("abuse report {id} is already resolved (by {by})"),
    (False, False): N_("abuse report {id} is already resolved"),
}


def resolution_note(raw: object) -> str:
    """The admin's note on what was done: required, text, at most ``NOTE_MAX_CHARS``."""
    if not isinstance(raw, str) or not raw.strip():
        raise FieldError("note", N_("is required: say what was done about the report"))
    note = raw.strip()
    if len(note) > NOTE_MAX_CHARS:
        raise FieldError("note", N_("must be at most {limit} characters"), limit=NOTE_MAX_CHARS)
    return note


def flag_id_from(raw: str) -> int:
    """A flag id from a URL or the command line; ``NotFoundError`` for anything that cannot
    be one (so a bad id answers like an unknown one, never with a database error)."""
    text = raw.strip()
    if not text.isdigit() or not 0 < int(text) <= MAX_FLAG_ID:
        raise NotFoundError(N_("no abuse report with id {id!r}"), id=raw)
    return int(text)


async def resolve_flag(
    services: Services, by: Principal | None, flag_id: int, note: object
) -> Flag:
    """Resolve the open flag ``flag_id`` with ``note``, as the admin ``by`` (``None``: the
    node's operator on the command line, recorded as the instance actor).

    Raises ``Forbidden`` when ``by`` is not an admin, ``FieldError`` for a bad note,
    ``NotFoundError`` for an unknown id and ``FlagAlreadyResolved`` for a closed flag. The
    resolution is one conditional update, so two admins resolving at once cannot both win.
    """
    if by is not None and not by.is_admin:
        raise Forbidden(N_("{who} is not an admin of this node"), who=by.actor.name)
    text = resolution_note(note)
    resolver = by.actor.ap_id if by is not None else services.ids.actor(INSTANCE_ACTOR)
    if not 0 < flag_id <= MAX_FLAG_ID:
        raise NotFoundError(N_("no abuse report with id {id}"), id=str(flag_id))
    async with services.db.write() as session:
        row = await moderation_repo.resolve_flag(
            session, flag_id, by=resolver, note=text, now=services.clock.now()
        )
        if row is None:
            existing = await session.get(Flag, flag_id)
            if existing is None:
                raise NotFoundError(N_("no abuse report with id {id}"), id=str(flag_id))
            raise FlagAlreadyResolved(existing)
    return row
