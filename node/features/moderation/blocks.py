"""Admins block domains and actors; members flag abuse; chapters ban people from RSVPs.

The blocks take effect at once in this process (the inbox's copy is invalidated) and within
seconds in the others (node/federation/admission/blocks.py).
"""

from __future__ import annotations

import csv
import io
import logging
from urllib.parse import urlsplit

from node.features.impact.exclusions import exclude_blocked, include_unblocked
from node.federation.admission.blocks import invalidate_blocks
from node.runtime.services import Services
from protocol.errors import MalformedDocument
from protocol.ids import parse_id
from storage.models.moderation import SILENCE, SUSPEND
from storage.repositories import moderation as moderation_repo

log = logging.getLogger(__name__)


def normalise_domain(value: str) -> str:
    text = value.strip().lower()
    if "://" in text:
        text = urlsplit(text).netloc
    if not text or "/" in text or " " in text:
        raise ValueError(f"{value!r} is not a domain")
    return text.encode("idna").decode("ascii") if not text.isascii() else text


async def block_domain(
    services: Services, host: str, severity: str = SUSPEND, reason: str | None = None
) -> str:
    if severity not in {SUSPEND, SILENCE}:
        raise ValueError("severity must be suspend or silence")
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
        raise ValueError(str(exc)) from exc
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
        raise ValueError("the CSV is empty")
    names = {n.lstrip("#").strip(): n for n in reader.fieldnames}
    if "domain" not in names:
        raise ValueError("the CSV has no #domain column")
    count = 0
    for line, row in enumerate(reader, start=2):
        domain = (row.get(names["domain"]) or "").strip()
        if not domain or domain.startswith("#"):
            continue
        severity = MASTODON_SEVERITIES.get(
            (row.get(names.get("severity", "")) or "suspend").strip().lower()
        )
        if severity is None:
            raise ValueError(f"line {line}: unknown severity {row.get(names['severity'])!r}")
        comment = (row.get(names.get("public_comment", "")) or "").strip() or None
        try:
            await block_domain(services, domain, severity, comment)
        except ValueError as exc:
            raise ValueError(f"line {line}: {exc}") from exc
        count += 1
    return count
