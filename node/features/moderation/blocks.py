"""Admins block domains and actors; members flag abuse; chapters ban people from RSVPs.

The blocks take effect at once in this process (the inbox's copy is invalidated) and within
seconds in the others (node/federation/admission/blocks.py).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from node.features.impact.exclusions import exclude_blocked, include_unblocked
from node.federation.admission.blocks import invalidate_blocks
from node.runtime.services import Services
from protocol.errors import N_, ChapterhouseError, MalformedDocument, WordedError, said
from protocol.ids import parse_id
from storage.models.moderation import SILENCE, SUSPEND
from storage.repositories import moderation as moderation_repo

log = logging.getLogger(__name__)


class BlockRefused(WordedError, ValueError):
    """A block (or a block list) that cannot be recorded: not a domain, an unknown severity, a
    list without domains. Still a ``ValueError``, as callers catch it; worded, so the admin page
    and the CLI say it in their reader's language."""

    @classmethod
    def about(cls, error: ChapterhouseError) -> BlockRefused:
        """A lower layer's refusal (an actor id that does not parse) as a refused block, keeping
        its wording when it has one."""
        if error.wording is None:
            return cls(str(error))
        return cls(error.wording, **error.params)


#: How a refused line of a block list reads: its number, then why.
LINE_REFUSED = N_("line {line}: {reason}")


class LineRefused(BlockRefused):
    """One line of an imported block list was refused: its number, then why. The reason is said
    in the reader's language too when it is worded (``spoken``)."""

    def __init__(self, line: int, reason: ValueError) -> None:
        super().__init__(LINE_REFUSED, line=line, reason=str(reason))
        self.line = line
        self.reason = reason

    def spoken(
        self,
        gettext: Callable[[str], str],
        written: Callable[[object], object] | None = None,
    ) -> str:
        reason = self.reason
        why = (
            reason.spoken(gettext, written)
            if isinstance(reason, ChapterhouseError)
            else gettext(str(reason))
        )
        return said(LINE_REFUSED, {"line": self.line, "reason": why}, gettext, written)


def normalise_domain(value: str) -> str:
    text = value.strip().lower()
    if "://" in text:
        text = urlsplit(text).netloc
    if not text or "/" in text or " " in text:
        raise BlockRefused(N_("{value!r} is not a domain"), value=value)
    if text.isascii():
        return text
    try:
        return text.encode("idna").decode("ascii")
    except UnicodeError as exc:  # a label too long, or characters IDNA refuses
        raise BlockRefused(N_("{value!r} is not a domain"), value=value) from exc


async def block_domain(
    services: Services, host: str, severity: str = SUSPEND, reason: str | None = None
) -> str:
    if severity not in {SUSPEND, SILENCE}:
        raise BlockRefused(N_("severity must be suspend or silence"))
    domain = normalise_domain(host)
    async with services.db.write() as session:
        await moderation_repo.put_domain_block(
            session, domain, severity, reason, services.clock.now()
        )
        if severity == SUSPEND:  # our campaigns stop counting the domain's chapters
            await exclude_blocked(session, domain, services.clock.now())
    invalidate_blocks(services)
    return domain


async def block_actor(services: Services, actor: str, reason: str | None = None) -> str:
    try:
        actor_id = parse_id(actor.strip(), allow_http=services.settings.allow_http)
    except MalformedDocument as exc:
        raise BlockRefused.about(exc) from exc
    async with services.db.write() as session:
        await moderation_repo.put_actor_block(session, actor_id, reason, services.clock.now())
        await exclude_blocked(session, actor_id, services.clock.now())
    invalidate_blocks(services)
    return actor_id


async def unblock(services: Services, target: str) -> bool:
    value = target.strip()
    key = value if "://" in value and "/" in urlsplit(value).path else normalise_domain(value)
    async with services.db.write() as session:
        removed = await moderation_repo.remove_block(session, key)
        if removed:
            await include_unblocked(session, key)
    invalidate_blocks(services)
    return removed


MASTODON_SEVERITIES = {"suspend": SUSPEND, "silence": SILENCE, "limit": SILENCE}


async def import_mastodon_csv(services: Services, text: str) -> int:
    """Mastodon's shared block lists: ``#domain,#severity,...`` (or ``domain,severity,...``)."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise BlockRefused(N_("the CSV is empty"))
    names = {n.lstrip("#").strip(): n for n in reader.fieldnames}
    if "domain" not in names:
        raise BlockRefused(N_("the CSV has no #domain column"))
    count = 0
    for line, row in enumerate(reader, start=2):
        domain = (row.get(names["domain"]) or "").strip()
        if not domain or domain.startswith("#"):
            continue
        severity = MASTODON_SEVERITIES.get(
            (row.get(names.get("severity", "")) or "suspend").strip().lower()
        )
        if severity is None:
            raise BlockRefused(
                N_("line {line}: unknown severity {severity!r}"),
                line=line,
                severity=row.get(names["severity"]),
            )
        comment = (row.get(names.get("public_comment", "")) or "").strip() or None
        try:
            await block_domain(services, domain, severity, comment)
        except ValueError as exc:
            raise LineRefused(line, exc) from exc
        count += 1
    return count
