"""A third-party server holding many impact reports, for rollup tests: it answers each GET after
``delay`` seconds and records how many requests it had in flight at once, and for which paths.

The reports are well formed but carry no proof, so a node that fetches one refuses to count it
(a relayed report must be signed by its chapter): what is measured is only the fetching.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import orjson
from aiohttp import web

from protocol.impact import ImpactReport, Measure, Rollup, Source, Total, build_report, build_rollup
from protocol.proofs import jcs_sha256
from tests.rig.hostile import AP, HostileServer

PUBLISHED = datetime(2027, 4, 12, 18, 0, tzinfo=UTC)


@dataclass
class ReportServer:
    delay: float = 0.0
    server: HostileServer = field(default_factory=HostileServer)
    in_flight: int = 0
    peak: int = 0
    fetched: Counter[str] = field(default_factory=Counter)

    async def start(self) -> ReportServer:
        await self.server.start()
        return self

    async def stop(self) -> None:
        await self.server.stop()

    def reports(self, count: int, prefix: str = "r") -> list[Source]:
        """Serve ``count`` reports; the rollup sources naming them (pinned to what is served)."""
        sources = []
        for i in range(count):
            chapter = self.server.actor_id(f"chapter{i}")
            report_id = self.server.url(f"/reports/{prefix}{i}")
            doc = build_report(
                ImpactReport(
                    id=report_id,
                    chapter=chapter,
                    call=self.server.url(f"/calls/{i}"),
                    measures=(Measure("participants", "people", Decimal(i + 1)),),
                    published=PUBLISHED,
                )
            )
            self._serve(f"/reports/{prefix}{i}", orjson.dumps(doc))
            sources.append(Source(report_id, chapter, jcs_sha256(doc)))
        return sources

    def _serve(self, path: str, body: bytes) -> None:
        async def respond(_: web.Request) -> web.StreamResponse:
            self.fetched[path] += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.in_flight -= 1
            return web.Response(body=body, content_type=AP)

        self.server.serve(path, respond)


def rollup_document(
    campaign: str, sources: list[Source], *, updated: datetime = PUBLISHED
) -> dict[str, object]:
    """A rollup by ``campaign`` (unsigned) naming ``sources``."""
    rollup = Rollup(
        id=f"{campaign}/rollup",
        campaign=campaign,
        rollup_of=(f"{campaign}/actions/1",),
        totals=(Total("participants", "people", Decimal(len(sources))),),
        sources=tuple(sources),
        chapter_count=len(sources),
        updated=updated,
    )
    return build_rollup(rollup, content=f"Together, {len(sources)} chapters.")
