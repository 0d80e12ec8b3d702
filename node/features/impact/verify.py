"""``chapterhouse verify URL``: check a campaign's rollup against the chapters' own reports.

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

from node.federation.transport import FetchError, Signer, Transport
from node.runtime.clock import SystemClock
from node.runtime.config import Settings
from protocol.actors import Actor, parse_actor
from protocol.errors import MalformedDocument, ProofError, ProtocolError
from protocol.impact import ImpactReport, json_number, parse_report, parse_rollup, sum_reports
from protocol.keys import ed25519_public_from_multibase
from protocol.proofs import controller_of, jcs_sha256, proof_verification_method, verify_proof


@dataclass
class Verdict:
    rollup: str
    ok: bool = True
    sources: int = 0
    verified: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)
    totals: list[dict[str, object]] = field(default_factory=list)

    def problem(self, where: str, what: str) -> None:
        self.ok = False
        self.problems.append({"source": where, "problem": what})

    def as_json(self) -> dict[str, object]:
        return {
            "rollup": self.rollup,
            "ok": self.ok,
            "sources": self.sources,
            "verified": self.verified,
            "problems": self.problems,
            "recomputedTotals": self.totals,
        }


class Verifier:
    def __init__(
        self, transport: Transport, allow_http: bool, signer: Signer | None = None
    ) -> None:
        self._transport = transport
        self._allow_http = allow_http
        self._signer = signer  # a node's instance actor: nodes with authorized fetch answer it
        self._actors: dict[str, Actor] = {}

    async def fetch(self, url: str) -> dict[str, Any]:
        fetched = await self._transport.get_json(url, signer=self._signer)
        doc = fetched.document
        if not isinstance(doc, dict) or doc.get("id") != url:
            raise MalformedDocument(f"{url} does not serve a document with that id")
        return doc

    async def check_proof(self, doc: dict[str, Any], owner: str) -> None:
        method = proof_verification_method(doc)
        if controller_of(method) != owner:
            raise ProofError(f"signed by {controller_of(method)}, not by {owner}")
        actor = self._actors.get(owner)
        if actor is None:
            actor = self._actors[owner] = parse_actor(
                await self.fetch(owner), allow_http=self._allow_http
            )
        key = next((k for k in actor.assertion_methods if k.id == method), None)
        if key is None:
            raise ProofError(f"{owner} does not publish the key {method}")
        verify_proof(doc, ed25519_public_from_multibase(key.public_key_multibase))

    async def verify(self, url: str, progress: Callable[[int, int], None] | None = None) -> Verdict:
        verdict = Verdict(url)
        try:
            doc = await self.fetch(url)
            rollup = parse_rollup(doc, allow_http=self._allow_http)
            await self.check_proof(doc, rollup.campaign)
        except (FetchError, ProtocolError) as exc:
            verdict.problem(url, f"rollup: {exc}")
            return verdict
        verdict.sources = len(rollup.sources)
        reports: list[ImpactReport] = []
        for index, source in enumerate(rollup.sources, 1):
            if progress is not None:
                progress(index, len(rollup.sources))
            try:
                report_doc = await self.fetch(source.report)
            except (FetchError, ProtocolError) as exc:
                verdict.problem(source.report, f"missing: {exc}")
                continue
            try:
                report = parse_report(report_doc, allow_http=self._allow_http)
                if report.chapter != source.chapter:
                    raise ProofError(
                        f"the rollup credits {source.chapter}, the report is by {report.chapter}"
                    )
                await self.check_proof(report_doc, report.chapter)
            except (FetchError, ProtocolError) as exc:
                verdict.problem(source.report, f"proof: {exc}")
                continue
            if jcs_sha256(report_doc) != source.sha256:
                verdict.problem(
                    source.report, "the report differs from the version the rollup counted"
                )
                continue
            verdict.verified += 1
            reports.append(report)
        recomputed = {(t.metric, t.unit): t.value for t in sum_reports(reports)}
        claimed = {(t.metric, t.unit): t.value for t in rollup.totals}
        verdict.totals = [
            {"metric": m, "unit": u, "value": json_number(v)}
            for (m, u), v in sorted(recomputed.items())
        ]
        for key in sorted(set(recomputed) | set(claimed)):
            got, want = recomputed.get(key, Decimal(0)), claimed.get(key, Decimal(0))
            if got != want:
                verdict.problem(
                    url,
                    f"total {key[0]} ({key[1]}): the rollup says {want}, the reports sum to {got}",
                )
        chapters = len({r.chapter for r in reports})
        if verdict.ok and chapters != rollup.chapter_count:
            verdict.problem(
                url, f"chapterCount is {rollup.chapter_count}, the reports come from {chapters}"
            )
        return verdict


async def verify_rollup(
    url: str,
    *,
    allow_private_network: bool,
    progress: Callable[[int, int], None] | None = None,
    transport: Transport | None = None,
    signer: Signer | None = None,
) -> Verdict:
    """Verify ``url``'s rollup. A node passes its own transport and instance-actor signer, so
    chapters that require signed fetches (authorized fetch) answer; alone, fetches are anonymous."""
    if transport is not None:
        return await Verifier(transport, allow_private_network, signer).verify(url, progress)
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
