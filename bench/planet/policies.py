"""The node's own policies, called as they are: a thin adapter from virtual seconds to them.

Nothing here decides anything. Each function hands the simulation's state to the function the
node itself runs, with the node's default ``Settings``:

* retry and backoff: ``node.federation.delivery.outcomes.backoff`` (``protocol.retry``'s
  exponential backoff with the delivery settings) and ``classify`` (what an answer means);
* per-host concurrency: ``Settings.delivery_concurrency`` and ``delivery_per_host``, the
  dispatcher's set-aside and claim constants, and its round robin over hosts (``ReadyRows``, used
  as is by the simulated dispatcher);
* unavailable domains: ``storage.repositories.domains.becomes_unavailable``;
* shared-inbox de-duplication: ``protocol.actors.Actor.delivery_inbox`` (the follow handler
  stores ``shared_inbox or inbox``) and one delivery per distinct inbox, as the outbox's
  audience is a set;
* the double Announce: ``node.features.calls.lifecycle.new_call_activities`` (an adopted call
  sends its ``Create`` and an ``Announce`` of the campaign's call);
* rollup intervals: ``node.features.impact.rollups.rollup_due`` and ``rollup_poll_seconds``,
  with the real rollup document (``protocol.impact.build_rollup``) for its size.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson

from node.features.calls.lifecycle import new_call_activities
from node.features.impact.rollups import rollup_due, rollup_poll_seconds, sources_link
from node.federation.delivery import dispatcher
from node.federation.delivery.outcomes import JITTER, OutcomeKind, backoff, classify
from node.federation.delivery.ready_rows import ReadyRows
from node.federation.transport import PostResult
from node.runtime.config import Settings
from protocol.activities import build_create
from protocol.actors import Actor
from protocol.impact import ImpactReport, Measure, Rollup, Source, Total, build_report, build_rollup
from storage.repositories.deliveries import ClaimedDelivery
from storage.repositories.domains import becomes_unavailable

T0 = datetime(2027, 4, 12, 8, 0, tzinfo=UTC)  # virtual second 0
CAMPAIGN = "https://campaign.example/actors/climate"

__all__ = ["OutcomeKind", "ReadyRows"]


def settings(**changes: object) -> Settings:
    """The node's defaults, with ``changes`` (a what-if changes one policy at a time)."""
    base = Settings(data_dir=Path("."), base_url="https://campaign.example")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True, slots=True)
class Dispatch:
    """How a node's delivery worker schedules: from its settings and its module constants."""

    concurrency: int
    per_host: int
    set_aside_after: float
    claim: int  # rows leased per claim at most
    low_water: int  # a claim is made when no more rows than this wait
    host_allowance: int  # rows per host leased at most (in flight and waiting)
    max_body: int  # what a Chapterhouse receiver accepts at most (bytes)


def dispatch(s: Settings) -> Dispatch:
    return Dispatch(
        concurrency=s.delivery_concurrency,
        per_host=s.delivery_per_host,
        set_aside_after=dispatcher.SET_ASIDE_AFTER,
        claim=dispatcher.CLAIM_FACTOR * s.delivery_concurrency,
        low_water=dispatcher.REFILL_FACTOR * s.delivery_concurrency,
        host_allowance=s.delivery_per_host * dispatcher.READY_PER_HOST,
        max_body=s.max_body_bytes,
    )


def row(ident: int, inbox: str, host: str, attempts: int) -> ClaimedDelivery:
    """A leased delivery row as the worker sees it (the body travels as a size, elsewhere)."""
    return ClaimedDelivery(ident, inbox, host, attempts, "", 0, "", "")


def outcome(status: int, attempts: int) -> OutcomeKind:
    return classify(PostResult(status, None, ""), attempts)


def retry_delay(s: Settings, attempts: int, rng: random.Random) -> float | None:
    """Seconds before the next attempt of a delivery that failed ``attempts`` times."""
    delay = backoff(s, attempts, rng.random() * JITTER)
    return None if delay is None else delay.total_seconds()


def unavailable(s: Settings, failing_since: float, now: float) -> bool:
    return becomes_unavailable(
        T0 + timedelta(seconds=failing_since),
        T0 + timedelta(seconds=now),
        timedelta(seconds=s.domain_unavailable_after_seconds),
    )


def delivery_inboxes(followers: Iterable[Actor]) -> set[str]:
    """Where a fan-out goes: each follower's delivery inbox (shared where offered), once."""
    return {follower.delivery_inbox for follower in followers}


def server_followers(server: str, count: int, shared: bool) -> list[Actor]:
    """``count`` followers on ``server``, which may offer a shared inbox."""
    return [
        Actor(
            id=f"https://{server}/users/u{i}",
            type="Person",
            inbox=f"https://{server}/users/u{i}/inbox",
            shared_inbox=f"https://{server}/inbox" if shared else None,
        )
        for i in range(count)
    ]


def adoption_messages() -> list[str]:
    """The types of what a chapter adopting a campaign call sends each follower inbox."""
    ids = iter(range(1_000_000))
    acts = new_call_activities(
        lambda: f"https://c.example/activities/{next(ids)}",
        "https://c.example/actors/chapter",
        "https://c.example/actors/chapter/followers",
        {"id": "https://c.example/actions/1", "type": "Event", "to": [], "cc": []},
        f"{CAMPAIGN}/actions/1",
    )
    return [str(a["type"]) for a in acts]


def announce_bytes() -> int:
    ids = iter(range(1_000_000))
    acts = new_call_activities(
        lambda: f"https://chapter-00001.example/activities/01J{next(ids):023d}",
        "https://chapter-00001.example/actors/chapter",
        "https://chapter-00001.example/actors/chapter/followers",
        {"id": "https://chapter-00001.example/actions/x", "type": "Event"},
        f"{CAMPAIGN}/actions/01JABCDEFGHJKMNPQRSTVWXYZ0",
    )
    return len(orjson.dumps(acts[-1]))


def rollup_is_due(s: Settings, published_at: float | None, now: float) -> bool:
    return rollup_due(
        None if published_at is None else T0 + timedelta(seconds=published_at),
        T0 + timedelta(seconds=now),
        timedelta(seconds=s.rollup_interval_seconds),
    )


def rollup_poll(s: Settings) -> float:
    return rollup_poll_seconds(s.rollup_interval_seconds)


def rollup_document(sources: int, inline_sources: int | None = None) -> dict[str, object]:
    """The campaign's rollup over ``sources`` reports (two metrics), unsigned. Past
    ``inline_sources`` (the node's ``rollup_inline_sources``) it links to its sources, as
    ``node.features.impact.rollups.publish_rollup`` does; None: always inline."""
    listed = tuple(
        Source(
            f"https://chapter-{i:05d}.example/reports/01J{i:023d}",
            f"https://chapter-{i:05d}.example/actors/chapter",
            f"{i:064x}",
        )
        for i in range(sources)
    )
    paged = inline_sources is not None and sources > inline_sources
    rollup = Rollup(
        id=f"{CAMPAIGN}/rollup",
        campaign=CAMPAIGN,
        rollup_of=(f"{CAMPAIGN}/actions/01JABCDEFGHJKMNPQRSTVWXYZ0",),
        totals=(
            Total("participants", "people", Decimal(sources * 17)),
            Total("kg_litter", "kg", Decimal(sources * 41) / 2),
        ),
        sources=() if paged else listed,
        chapter_count=sources,
        updated=T0,
        sources_link=sources_link(f"{CAMPAIGN}/rollup", listed) if paged else None,
    )
    return build_rollup(rollup, content=f"Together, {sources} chapters.", cc=[f"{CAMPAIGN}/f"])


def rollup_bytes(s: Settings, sources: int, proof_bytes: int = 400) -> int:
    """The rollup's ``Update`` as sent: the document, its envelope and its proof."""
    envelope = build_create(
        "https://campaign.example/activities/x",
        CAMPAIGN,
        rollup_document(sources, s.rollup_inline_sources),
    )
    return len(orjson.dumps(envelope)) + proof_bytes


def report_document() -> dict[str, object]:
    report = ImpactReport(
        id="https://chapter-00001.example/reports/01JABCDEFGHJKMNPQRSTVWXYZ0",
        chapter="https://chapter-00001.example/actors/chapter",
        call="https://chapter-00001.example/actions/01JABCDEFGHJKMNPQRSTVWXYZ0",
        measures=(
            Measure("participants", "people", Decimal(23)),
            Measure("kg_litter", "kg", Decimal("41.5")),
        ),
        published=T0,
        content="<p>23 of us cleaned the river bank.</p>",
    )
    return build_report(report, cc=[CAMPAIGN])


def report_create(doc: dict[str, object]) -> dict[str, object]:
    return build_create(
        "https://chapter-00001.example/activities/01JABCDEFGHJKMNPQRSTVWXYZ1",
        "https://chapter-00001.example/actors/chapter",
        doc,
    )
