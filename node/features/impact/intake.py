"""Receiving impact reports and rollups, by whatever path they come.

Directly from their chapter (authenticated by the HTTP signature), relayed by a third party
(accepted only with a valid proof by the chapter, or refetched from the chapter's origin), or
named in another campaign's rollup (fetched from origin; proof and hash must match).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.calls.remote import new_remote_call
from node.features.impact.aggregation import retract_report
from node.features.impact.batch_intake import ReportItem, apply_reports, write_session
from node.features.impact.chapter_sums import replace_values, stored_values
from node.features.impact.membership import campaigns_reached, member_of_any_campaign
from node.features.impact.proof_batch import PendingProofs, ProofPool, start_proofs
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
from storage.repositories import impact as impact_repo

log = logging.getLogger(__name__)


async def apply_report(
    session: AsyncSession,
    services: Services,
    report: ImpactReport,
    doc: Mapping[str, Any],
    via: str,
    via_campaign: str | None = None,
    sha256: str | None = None,
) -> str:
    """Store the newest version and count it in the campaigns it belongs to (membership rule:
    ``membership.py``); returns what happened. ``via_campaign``: the campaign whose rollup
    named the report. One item of ``batch_intake.apply_reports``: there is one implementation."""
    item = ReportItem(report, doc, via, via_campaign, sha256)
    return (await apply_reports(session, services, [item]))[0]


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
    await replace_values(session, stored.chapter, stored_values(stored.document), {})
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


@dataclass(frozen=True, slots=True)
class Incoming:
    """A report document to take in (``ingest_many``): ``relayed`` copies must carry a proof."""

    doc: Mapping[str, Any]
    via: str
    relayed: bool
    via_campaign: str | None = None


async def ingest(
    services: Services,
    doc: Mapping[str, Any],
    *,
    via: str,
    relayed: bool,
    via_campaign: str | None = None,
) -> str:
    """Take in one report document; a relayed copy must carry the chapter's proof. Raises
    ``ProtocolError`` (``ProofError``) for a document refused."""
    (outcome,) = await ingest_many(services, [Incoming(doc, via, relayed, via_campaign)])
    if isinstance(outcome, ProtocolError):
        raise outcome
    return outcome


@dataclass
class Checked:
    """Reports parsed and proof-checked (``check_incoming``), ready to be counted (``count``)."""

    incoming: Sequence[Incoming]
    results: list[str | ProtocolError | None]
    parsed: dict[int, ImpactReport]
    shas: dict[int, str]


async def ingest_many(
    services: Services, incoming: Sequence[Incoming], pool: ProofPool | None = None
) -> list[str | ProtocolError]:
    """Take in many report documents: proofs checked together (``proof_batch``, in ``pool``'s
    processes when given), all counted in one transaction (``apply_reports``); a report on a
    call we do not hold has the call fetched from its chapter (members only), then counted.
    One outcome per document, in order: what ``apply_report`` returned, or the error that
    refused the document (the others are counted all the same).

    The two steps are ``check_incoming`` then ``count``: a caller with many batches may check
    the next batch's proofs while this one is written, and still count them in order."""
    return await count(services, await check_incoming(services, incoming, pool))


async def check_incoming(
    services: Services, incoming: Sequence[Incoming], pool: ProofPool | None = None
) -> Checked:
    """Parse each document and check the proofs of the relayed ones (no transaction held)."""
    return await (await start_incoming(services, incoming, pool)).result()


async def start_incoming(
    services: Services, incoming: Sequence[Incoming], pool: ProofPool | None = None
) -> PendingChecks:
    """``check_incoming`` in two steps (``proof_batch.start_proofs``): parsed, keys found and
    proofs sent to the pool's processes; ``PendingChecks.result`` waits for them."""
    checked = Checked(incoming, [None] * len(incoming), {}, {})
    for index, item in enumerate(incoming):
        try:
            checked.parsed[index] = parse_report(item.doc, allow_http=services.settings.allow_http)
        except ProtocolError as exc:
            checked.results[index] = exc
    relayed = [i for i in checked.parsed if incoming[i].relayed]
    proofs = await start_proofs(
        services, [(incoming[i].doc, checked.parsed[i].chapter) for i in relayed], pool
    )
    return PendingChecks(checked, relayed, proofs)


@dataclass
class PendingChecks:
    """Reports parsed, their proofs being checked (``start_incoming``)."""

    checked: Checked
    relayed: list[int]
    proofs: PendingProofs

    async def result(self) -> Checked:
        checked = self.checked
        for index, proof in zip(self.relayed, await self.proofs.result(), strict=True):
            if isinstance(proof, ProofError):
                checked.results[index] = proof
                del checked.parsed[index]
            else:
                checked.shas[index] = proof
        return checked


async def count(services: Services, checked: Checked) -> list[str | ProtocolError]:
    """Count what ``check_incoming`` let through, in one write transaction (module doc)."""
    incoming, results, parsed = checked.incoming, checked.results, checked.parsed
    todo = sorted(parsed)
    fetch: list[int] = []
    async with write_session(services.db) as session:
        outcomes = await apply_reports(
            session, services, [_item(incoming, parsed, checked.shas, i) for i in todo]
        )
        for index, outcome in zip(todo, outcomes, strict=True):
            results[index] = outcome
            # Calls are fetched only for members: a stranger's report costs us no request.
            if outcome == "unknown_call" and (
                incoming[index].via_campaign is not None
                or await member_of_any_campaign(session, parsed[index].chapter)
            ):
                fetch.append(index)
    fetched = [i for i in fetch if await fetch_call(services, parsed[i].call, parsed[i].chapter)]
    if fetched:
        async with write_session(services.db) as session:
            again = await apply_reports(
                session, services, [_item(incoming, parsed, checked.shas, i) for i in fetched]
            )
        for index, outcome in zip(fetched, again, strict=True):
            results[index] = outcome
    for index, result in enumerate(results):
        if isinstance(result, str):
            log.info(
                "report.ingested",
                extra={"report": parsed[index].id, "outcome": result, "via": incoming[index].via},
            )
    return [r if r is not None else ProtocolError("not taken in") for r in results]


def _item(
    incoming: Sequence[Incoming],
    parsed: Mapping[int, ImpactReport],
    shas: Mapping[int, str],
    i: int,
) -> ReportItem:
    item = incoming[i]
    return ReportItem(parsed[i], item.doc, item.via, item.via_campaign, shas.get(i))


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
