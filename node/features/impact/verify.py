"""``chapterhouse verify URL``: check a campaign's rollup against the chapters' own reports.

It tells "wrong" (a proof, hash or total that does not match, named) from "could not check" (a
document that could not be fetched: listed, never called a mismatch).

Fetches the rollup and every report it names from their origins, verifies every proof against
the keys the signers publish, checks each report is the exact version the rollup pinned
(SHA-256 of its JCS form), recomputes the totals, and lists every discrepancy. Needs no node
and no database: anyone can run it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from node.features.impact.errors import Malformed, Unproven
from node.features.impact.rollup_pages import SourcesChanged, walk_sources
from node.federation.transport import FetchError, Signer, Transport
from node.runtime.clock import Clock, SystemClock
from node.runtime.config import Settings
from protocol.actors import Actor, parse_actor
from protocol.errors import N_, ProtocolError
from protocol.impact import (
    UNIT_REASON,
    ImpactReport,
    Rollup,
    Source,
    json_number,
    parse_report,
    parse_rollup,
)
from protocol.keys import ed25519_public_from_multibase
from protocol.proofs import controller_of, jcs_sha256, proof_verification_method, verify_proof
from protocol.units import canonical_unit, convert, convertible

VERIFIED, MISMATCH, UNVERIFIABLE = "verified", "mismatch", "unverifiable"


@dataclass
class Verdict:
    """What checking a rollup found. ``problems``: what is wrong, named; ``unreachable``: what
    could not be checked (never called a mismatch); ``excluded``: what the rollup leaves out,
    with its reasons, shown so that an exclusion is never silent."""

    rollup: str
    sources: int = 0
    checked: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)
    unreachable: list[dict[str, str]] = field(default_factory=list)
    excluded: list[dict[str, str]] = field(default_factory=list)
    totals: list[dict[str, object]] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.problems:
            return MISMATCH
        return UNVERIFIABLE if self.unreachable else VERIFIED

    @property
    def ok(self) -> bool:
        return self.verdict == VERIFIED

    def problem(self, where: str, what: str) -> None:
        self.problems.append({"source": where, "problem": what})

    def unchecked(self, where: str, why: str) -> None:
        self.unreachable.append({"source": where, "error": why})

    def as_json(self) -> dict[str, object]:
        return {
            "verdict": self.verdict,
            "rollup": self.rollup,
            "sources": self.sources,
            "checked": self.checked,
            "problems": self.problems,
            "unreachable": self.unreachable,
            "excluded": self.excluded,
            "recomputedTotals": self.totals,
        }


def recompute(
    reports: list[ImpactReport], rollup: Rollup, verdict: Verdict
) -> dict[tuple[str, str], Decimal]:
    """The totals the reports make in the rollup's units, leaving out the measures the rollup
    lists as excluded for their unit; a measure neither counted nor listed is a problem."""
    units = {t.metric: t.unit for t in rollup.totals}
    skipped = {(e.report, e.metric, e.unit) for e in rollup.exclusions if e.reason == UNIT_REASON}
    totals: dict[tuple[str, str], Decimal] = {}
    for report in reports:
        for measure in report.measures:
            if (report.id, measure.metric, measure.unit) in skipped:
                continue
            unit = units.get(measure.metric, canonical_unit(measure.unit))
            if not convertible(measure.unit, unit):
                verdict.problem(
                    report.id,
                    f"{measure.metric} in {measure.unit} is neither counted (in {unit}) nor "
                    "listed as excluded",
                )
                continue
            key = (measure.metric, unit)
            totals[key] = totals.get(key, Decimal(0)) + convert(measure.value, measure.unit, unit)
    return totals


class Verifier:
    def __init__(
        self,
        transport: Transport,
        allow_http: bool,
        signer: Signer | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._transport = transport
        self._allow_http = allow_http
        self._signer = signer  # a node's instance actor: nodes with authorized fetch answer it
        self._clock = clock or SystemClock()  # proofs' expires and created are judged by it
        self._actors: dict[str, Actor] = {}

    async def fetch(self, url: str) -> dict[str, Any]:
        fetched = await self._transport.get_json(url, signer=self._signer)
        doc = fetched.document
        if not isinstance(doc, dict) or doc.get("id") != url:
            raise Malformed(N_("{url} does not serve a document with that id"), url=url)
        return doc

    async def check_proof(self, doc: dict[str, Any], owner: str) -> None:
        method = proof_verification_method(doc)
        if controller_of(method) != owner:
            raise Unproven(
                N_("signed by {signer}, not by {owner}"), signer=controller_of(method), owner=owner
            )
        actor = self._actors.get(owner)
        if actor is None:
            actor = self._actors[owner] = parse_actor(
                await self.fetch(owner), allow_http=self._allow_http
            )
        key = next((k for k in actor.assertion_methods if k.id == method), None)
        if key is None:
            raise Unproven(N_("{owner} does not publish the key {key}"), owner=owner, key=method)
        verify_proof(
            doc, ed25519_public_from_multibase(key.public_key_multibase), now=self._clock.now()
        )

    async def verify(
        self,
        url: str,
        progress: Callable[[int, int], None] | None = None,
        document: dict[str, Any] | None = None,
    ) -> Verdict:
        """Check the rollup at ``url``; given ``document`` (the rollup as its own node stored
        and published it), that exact version is checked instead of fetching ``url``."""
        verdict = Verdict(url)
        try:
            if document is not None and document.get("id") != url:
                raise Malformed(N_("the document given is not {url}"), url=url)
            doc = document if document is not None else await self.fetch(url)
        except (FetchError, ProtocolError) as exc:
            verdict.unchecked(url, f"rollup: {exc}")
            return verdict
        try:
            rollup = parse_rollup(doc, allow_http=self._allow_http)
            await self.check_proof(doc, rollup.campaign)
        except FetchError as exc:
            verdict.unchecked(url, f"the campaign's key: {exc}")
            return verdict
        except ProtocolError as exc:
            verdict.problem(url, f"rollup: {exc}")
            return verdict
        sources = list(rollup.sources)
        if rollup.sources_link is not None:
            try:
                sources = await walk_sources(
                    self.fetch, rollup.sources_link, allow_http=self._allow_http
                )
            except (FetchError, SourcesChanged) as exc:  # a newer rollup may be out: try again
                verdict.unchecked(rollup.sources_link.id, f"sources: {exc}")
                return verdict
            except ProtocolError as exc:
                verdict.problem(rollup.sources_link.id, f"sources: {exc}")
                return verdict
        verdict.sources = len(sources)
        verdict.excluded = [e.as_json() for e in rollup.exclusions]
        whole = {e.report for e in rollup.exclusions if e.reason != UNIT_REASON}
        reports: list[ImpactReport] = []
        for index, source in enumerate(sources, 1):
            if progress is not None:
                progress(index, len(sources))
            if source.report in whole:
                verdict.problem(source.report, "both counted and listed as excluded")
                continue
            report = await self._source(source, verdict)
            if report is not None:
                verdict.checked += 1
                reports.append(report)
        recomputed = recompute(reports, rollup, verdict)
        verdict.totals = [
            {"metric": m, "unit": u, "value": json_number(v)}
            for (m, u), v in sorted(recomputed.items())
        ]
        if verdict.unreachable:
            return verdict  # totals over the reports we could not read are not checked
        claimed = {(t.metric, t.unit): t.value for t in rollup.totals}
        for key in sorted(set(recomputed) | set(claimed)):
            got, want = recomputed.get(key, Decimal(0)), claimed.get(key, Decimal(0))
            if got != want:
                verdict.problem(
                    url,
                    f"total {key[0]} ({key[1]}): the rollup says {want}, the reports sum to {got}",
                )
        chapters = len({r.chapter for r in reports})
        if not verdict.problems and chapters != rollup.chapter_count:
            verdict.problem(
                url, f"chapterCount is {rollup.chapter_count}, the reports come from {chapters}"
            )
        return verdict

    async def _source(self, source: Source, verdict: Verdict) -> ImpactReport | None:
        """One counted report, checked; None when it is wrong or could not be read."""
        try:
            report_doc = await self.fetch(source.report)
        except FetchError as exc:
            verdict.unchecked(source.report, str(exc))
            return None
        except ProtocolError as exc:
            verdict.problem(source.report, f"not the report counted: {exc}")
            return None
        try:
            report = parse_report(report_doc, allow_http=self._allow_http)
            if report.chapter != source.chapter:
                raise Unproven(
                    N_("the rollup credits {credited}, the report is by {chapter}"),
                    credited=source.chapter,
                    chapter=report.chapter,
                )
            await self.check_proof(report_doc, report.chapter)
        except FetchError as exc:
            verdict.unchecked(source.report, f"the chapter's key: {exc}")
            return None
        except ProtocolError as exc:
            verdict.problem(source.report, f"proof: {exc}")
            return None
        if jcs_sha256(report_doc) != source.sha256:
            verdict.problem(source.report, "the report differs from the version the rollup counted")
            return None
        return report


async def verify_rollup(
    url: str,
    *,
    allow_private_network: bool,
    progress: Callable[[int, int], None] | None = None,
    transport: Transport | None = None,
    signer: Signer | None = None,
    document: dict[str, Any] | None = None,
    clock: Clock | None = None,
) -> Verdict:
    """Verify ``url``'s rollup. A node passes its own transport and instance-actor signer, so
    chapters that require signed fetches (authorized fetch) answer; alone, fetches are anonymous.
    A node checking its own campaign's rollup passes the stored ``document`` (that version)."""
    if transport is not None:
        verifier = Verifier(transport, allow_private_network, signer, clock)
        return await verifier.verify(url, progress, document)
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            data_dir=Path(scratch),
            base_url="https://verifier.chapterhouse.invalid",
            allow_private_network=allow_private_network,
        )
        transport = Transport(settings, SystemClock(), version="verify")
        await transport.start()
        try:
            return await Verifier(transport, allow_private_network).verify(url, progress)
        finally:
            await transport.close()
