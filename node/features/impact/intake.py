"""Receiving impact reports and rollups, by whatever path they come.

Directly from their chapter (authenticated by the HTTP signature), relayed by a third party
(accepted only with a valid proof by the chapter, or refetched from the chapter's origin), or
named in another campaign's rollup (fetched from origin; proof and hash must match).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.calls.input import sanitized
from node.features.calls.remote import new_remote_call
from node.features.impact.aggregation import count_report, retract_report
from node.features.impact.membership import (
    campaigns_reached,
    counting_campaigns,
    member_of_any_campaign,
)
from node.federation.proofs import check_object_proof
from node.federation.transport import FetchError
from node.runtime.services import Services
from protocol.errors import ProofError, ProtocolError
from protocol.events import parse_event
from protocol.ids import same_origin
from protocol.impact import ImpactReport, is_report, parse_report
from protocol.jsonld import id_of
from protocol.proofs import jcs_sha256
from protocol.vocabulary import has_type
from storage.models import ImpactReport as ReportRow
from storage.repositories import actions as action_repo
from storage.repositories import follows as follow_repo
from storage.repositories import impact as impact_repo

log = logging.getLogger(__name__)


async def apply_report(
    session: AsyncSession,
    services: Services,
    report: ImpactReport,
    doc: Mapping[str, Any],
    via: str,
    via_campaign: str | None = None,
) -> str:
    """Store the newest version and count it in the campaigns it belongs to (membership rule:
    ``membership.py``); returns what happened. ``via_campaign``: the campaign whose rollup
    named the report."""
    now = services.clock.now()
    call = await action_repo.call_by_ap_id(session, report.call)
    if call is None:
        return "unknown_call"
    if call.start_time > now:
        log.info("report.before_start", extra={"report": report.id, "call": report.call})
        return "not_started"  # impact is reported once the call has started
    if call.chapter != report.chapter:
        log.warning("report.foreign_call", extra={"report": report.id, "call": report.call})
        return "foreign_call"
    campaigns = await counting_campaigns(session, report.chapter, report.call, via_campaign)
    if not campaigns and not await follow_repo.followed_by_a_local_actor(session, report.chapter):
        # Not a member of any campaign here, and nobody here follows the chapter: not kept.
        log.info("report.not_a_member", extra={"report": report.id, "chapter": report.chapter})
        return "not_a_member"
    sha = jcs_sha256(doc)
    stored = await impact_repo.report(session, report.id)
    if stored is not None and stored.chapter != report.chapter:
        return "not_owner"
    if stored is not None and stored.retracted:
        return "retracted"
    if stored is None:
        session.add(
            ReportRow(
                ap_id=report.id,
                chapter=report.chapter,
                call=report.call,
                local_actor_id=None,
                document=sanitized(doc),
                version=report.version,
                retracted=False,
                sha256=sha,
                received_at=now,
            )
        )
    elif report.version > stored.version:
        stored.document, stored.version, stored.sha256 = sanitized(doc), report.version, sha
    moved = False
    for campaign in campaigns:
        moved |= await count_report(session, campaign, report, sha, via, now)
    return "counted" if moved else "unchanged"


async def retract(session: AsyncSession, services: Services, report_id: str, actor: str) -> None:
    now = services.clock.now()
    stored = await impact_repo.report(session, report_id)
    if stored is None:
        session.add(
            ReportRow(
                ap_id=report_id,
                chapter=actor,
                call="",
                local_actor_id=None,
                document={},
                version=now,
                retracted=True,
                sha256="0" * 64,
                received_at=now,
            )
        )
        return
    if stored.chapter != actor or stored.retracted:
        return
    stored.retracted = True
    for campaign in await campaigns_reached(session, stored.call):
        await retract_report(session, campaign, report_id, actor, now)


async def fetch_call(services: Services, call_id: str, chapter: str) -> bool:
    """Fetch a call a report is about from its origin and keep it (it must be the chapter's).

    Raises ``FetchError`` when the origin cannot be reached (worth another try later)."""
    try:
        fetched = await services.transport.get_json(call_id, signer=await services.fetch_signer())
    except FetchError as exc:  # raised: the follow-up that asked for the call tries again later
        log.info("report.call_unavailable", extra={"call": call_id, "error": str(exc)})
        raise
    try:
        call = parse_event(fetched.document, allow_http=services.settings.allow_http)
    except ProtocolError as exc:
        log.info("report.call_malformed", extra={"call": call_id, "error": str(exc)})
        return False
    if call.id != call_id or call.chapter != chapter:
        log.warning("report.call_mismatch", extra={"call": call_id})
        return False
    doc = fetched.document
    assert isinstance(doc, dict)
    now = services.clock.now()
    async with services.db.write() as session:
        if await action_repo.call_by_ap_id(session, call_id) is None:
            session.add(new_remote_call(call, doc, now))  # its HTML sanitised, as on every path
    return True


async def ingest(
    services: Services,
    doc: Mapping[str, Any],
    *,
    via: str,
    relayed: bool,
    via_campaign: str | None = None,
) -> str:
    """Take in one report document; a relayed copy must carry the chapter's proof."""
    report = parse_report(doc, allow_http=services.settings.allow_http)
    if relayed:
        await check_object_proof(services, doc, report.chapter)
    async with services.db.write() as session:
        outcome = await apply_report(session, services, report, doc, via, via_campaign)
        # Calls are fetched only for members: a stranger's report costs us no request.
        member = via_campaign is not None or await member_of_any_campaign(session, report.chapter)
    if (
        outcome == "unknown_call"
        and member
        and await fetch_call(services, report.call, report.chapter)
    ):
        async with services.db.write() as session:
            outcome = await apply_report(session, services, report, doc, via, via_campaign)
    log.info("report.ingested", extra={"report": report.id, "outcome": outcome, "via": via})
    return outcome


async def fetch_from_origin(services: Services, object_id: str) -> dict[str, Any] | None:
    """A document fetched from its own id (the origin vouches for it); ``None`` when the origin
    serves something else. Raises ``FetchError`` when it cannot be reached (try again later)."""
    try:
        fetched = await services.transport.get_json(object_id, signer=await services.fetch_signer())
    except FetchError as exc:
        log.info("relay.fetch_failed", extra={"object": object_id, "error": str(exc)})
        raise
    doc = fetched.document
    if (
        not isinstance(doc, dict)
        or doc.get("id") != object_id
        or not same_origin(fetched.url, object_id)
    ):
        return None
    return doc


async def relayed_object(services: Services, announcer: str, obj: object) -> None:
    """An Announce: accept the object if its proof checks out, else refetch it from origin.
    Raises ``FetchError`` when an origin cannot be reached (the follow-up tries again)."""
    if isinstance(obj, Mapping) and has_type(obj, "Create"):
        obj = obj.get("object")
    if isinstance(obj, Mapping) and is_report(obj) and "proof" in obj:
        try:
            await ingest(services, obj, via=announcer, relayed=True)
            return
        except (ProofError, ProtocolError) as exc:
            log.info("relay.proof_failed", extra={"announcer": announcer, "error": str(exc)})
    object_id = id_of(obj)
    if object_id is None:
        return
    doc = await fetch_from_origin(services, object_id)
    if doc is not None and is_report(doc):
        try:
            await ingest(services, doc, via=announcer, relayed="proof" in doc)
        except (ProofError, ProtocolError) as exc:
            log.info("relay.rejected", extra={"object": object_id, "error": str(exc)})


async def rollup_source(
    services: Services, *, rollup: str, campaign: str, report: str, sha256: str
) -> str:
    """One report another campaign's rollup names, pinned to ``sha256``: fetched from its
    origin and counted unless we already hold that version. (Expanding a rollup into these,
    one follow-up each, is ``follow_ups.expand_rollup``.) Raises ``FetchError`` when the origin
    cannot be reached, ``ProtocolError`` when the document is refused; returns what happened."""
    async with services.db.read() as session:
        held = await impact_repo.report(session, report)
    if held is not None and held.sha256 == sha256:
        return "held"
    report_doc = await fetch_from_origin(services, report)
    if report_doc is None or jcs_sha256(report_doc) != sha256:
        log.info("rollup.source_mismatch", extra={"rollup": rollup, "report": report})
        return "mismatch"
    return await ingest(services, report_doc, via=rollup, relayed=True, via_campaign=campaign)
