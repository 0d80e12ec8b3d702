"""Per-operation costs, measured on this machine in this run by calling the node's real code.

The simulation charges a node's core these costs (seconds of CPU, or of the one SQLite
writer) for each operation; nothing is typed in. Each is the median of a few short rounds:

* ``sign``: draft-cavage RSA-2048 signing of one delivery (``protocol.httpsig``);
* ``verify``: checking such a signature (what a receiver does first);
* ``post``: the rest of one delivery on the sender's core: the node's own ``Transport`` POSTing
  signed requests over loopback keep-alive to bare receivers in another process, with the
  node's concurrency, less the signing;
* ``publish_row``: one more follower inbox in a fan-out: ``create_action`` of the node, which
  writes the call, its activity and one delivery row per inbox in one transaction (the slope
  between a one-follower and a many-follower call), plus ``publish_fixed`` for the rest;
* ``queue_row``: a delivery row's life in the durable queue afterwards: leased by
  ``claim_due`` in large claims and marked sent in batches, as the worker does;
* ``accept_row``: storing one received activity (``storage.repositories.inbox.insert_many``,
  in small group commits as the inbox does under load);
* ``handle``: handling one impact report: ``count_report`` in its own write transaction, as the
  inbox worker does;
* ``sink``: a bare receiver answering one POST (the validation's receivers);
* ``proof_per_kb``: signing an object (FEP-8b32, JCS + Ed25519) per KiB of document, measured
  on a rollup of many sources: a rollup's proof grows with its sources.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import orjson
from sqlalchemy import select

from bench.fanout import Sinks
from bench.fanout_node import CALL, _add_followers
from bench.planet import policies
from node.features.actors.authz import Principal
from node.features.actors.local import create_actor
from node.features.calls.lifecycle import create_action
from node.features.impact.aggregation import count_report
from node.federation.transport import Signer, Transport
from node.ops.cluster import free_port
from node.runtime.app import close_services, open_services
from node.runtime.clock import SystemClock
from node.runtime.config import Settings
from node.runtime.services import Services
from protocol.httpsig import HttpRequest, sign_request_cavage, verify_request
from protocol.impact import ImpactReport, Measure
from protocol.keys import generate_ed25519_key, generate_rsa_key
from protocol.proofs import create_proof
from storage.models import LocalActor, OutboxActivity
from storage.repositories import deliveries as delivery_repo
from storage.repositories import inbox as inbox_repo

ROUNDS = 3


@dataclass(frozen=True, slots=True)
class Costs:
    sign: float
    verify: float
    post: float
    publish_row: float
    publish_fixed: float
    queue_row: float
    accept_row: float
    handle: float
    sink: float
    proof_per_kb: float
    call_bytes: int  # the Create of a chapter's call, as the node stores and sends it
    announce_bytes: int  # the Announce of the campaign's call
    report_bytes: int  # the Create of an impact report with its proof

    @property
    def deliver(self) -> float:
        """Sender CPU per delivery: sign, POST, and its row's life in the queue."""
        return self.sign + self.post + self.queue_row

    @property
    def accept(self) -> float:
        """Receiver CPU per request accepted by a Chapterhouse node: verify and store."""
        return self.verify + self.post + self.accept_row

    def describe(self) -> str:
        return ", ".join(
            f"{k} {v * 1000:.3f} ms" if isinstance(v, float) else f"{k} {v:,} B"
            for k, v in asdict(self).items()
        )


def _median(fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(ROUNDS))


def _request(url: str, body: bytes) -> HttpRequest:
    return HttpRequest.from_mapping(
        "POST", url, {"Content-Type": "application/activity+json"}, body
    )


def measure_crypto(body: bytes, n: int = 200) -> tuple[float, float]:
    key = generate_rsa_key(2048)
    public = key.public_key()
    clock = SystemClock()
    url = "https://chapter.example/inbox"
    signed = [
        sign_request_cavage(
            _request(url, body), key_id="https://x.example/k", private_key=key, now=clock.now()
        )
        for _ in range(4)
    ]

    def sign() -> float:
        started = time.perf_counter()
        for _ in range(n):
            sign_request_cavage(
                _request(url, body), key_id="https://x.example/k", private_key=key, now=clock.now()
            )
        return (time.perf_counter() - started) / n

    def verify() -> float:
        started = time.perf_counter()
        for i in range(n):
            verify_request(signed[i % 4], public, now=clock.now())
        return (time.perf_counter() - started) / n

    return _median(sign), _median(verify)


async def measure_post(sinks: Sinks, body: bytes, n: int) -> tuple[float, float]:
    """Seconds per signed POST through the node's Transport (sign included), and per bare
    unsigned POST at high concurrency (bounded by the receivers: ``sink``)."""
    settings = Settings(
        data_dir=Path("."), base_url="http://127.0.0.1:9", allow_private_network=True
    )
    transport = Transport(settings, SystemClock(), version="planet")
    await transport.start()
    signer = Signer("https://x.example/k", generate_rsa_key(2048))
    inboxes = sinks.inboxes(n)
    try:
        semaphore = asyncio.Semaphore(settings.delivery_concurrency)

        async def one(inbox: str) -> None:
            async with semaphore:
                await transport.post_activity(inbox, body, signer=signer)

        await asyncio.gather(*(one(i) for i in inboxes[: n // 10]))  # connections, warm
        walls = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in inboxes))
            walls.append((time.perf_counter() - started) / n)
    finally:
        await transport.close()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=128)) as session:
        bare = asyncio.Semaphore(64)

        async def plain(inbox: str) -> None:
            async with bare, session.post(inbox, data=body) as resp:
                await resp.read()

        sink_walls = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            await asyncio.gather(*(plain(i) for i in inboxes))
            sink_walls.append((time.perf_counter() - started) / n)
    return statistics.median(walls), statistics.median(sink_walls)


async def _publish(services: Services, organiser: Principal, chapter: str, title: str) -> float:
    started = time.perf_counter()
    await create_action(services, organiser, chapter, {**CALL, "title": title})
    return time.perf_counter() - started


async def measure_node(data: Path, n: int) -> dict[str, float | int]:
    """The database costs of a real node (its SQLite file in ``data``)."""
    settings = Settings(
        data_dir=data,
        base_url=f"http://127.0.0.1:{free_port()}",
        allow_private_network=True,
        run_workers=False,
    )
    services = await open_services(settings)
    try:
        small = (await create_actor(services, "small", "chapter")).actor
        big = (await create_actor(services, "big", "chapter")).actor
        campaign = (await create_actor(services, "climate", "campaign")).actor
        admin = (await create_actor(services, "admin", "member", role="admin")).actor
        organiser = Principal(admin, "admin")
        await _add_followers(services, small.ap_id, ["http://s.example/actors/0/inbox"])
        await _add_followers(
            services, big.ap_id, [f"http://h{i % 97}.example/actors/{i}/inbox" for i in range(n)]
        )
        await _publish(services, organiser, "small", "warm-up")
        fixed = statistics.median(
            [await _publish(services, organiser, "small", f"s{i}") for i in range(ROUNDS)]
        )
        many = await _publish(services, organiser, "big", "many")
        publish_row = max(many - fixed, 0.0) / n
        async with services.db.read() as session:
            body = await session.scalar(
                select(OutboxActivity.body).order_by(OutboxActivity.id.desc()).limit(1)
            )
        call_bytes = len(body.encode() if isinstance(body, str) else orjson.dumps(body))
        # The queue: lease in claims of 1,024 rows, mark sent in batches of 500.
        now = services.clock.now() + timedelta(seconds=1)
        started = time.perf_counter()
        leased = 0
        while True:
            async with services.db.write() as session:
                rows = await delivery_repo.claim_due(
                    session, now=now, lease=timedelta(minutes=1), limit=1024
                )
            if not rows:
                break
            leased += len(rows)
            for at in range(0, len(rows), 500):
                async with services.db.write() as session:
                    await delivery_repo.mark_sent(
                        session, [r.id for r in rows[at : at + 500]], now=now, status=202
                    )
        queue_row = (time.perf_counter() - started) / max(leased, 1)
        accept_row = await _measure_accept(services, n)
        handle = await _measure_handle(services, campaign, n // 4)
        return {
            "publish_row": publish_row,
            "publish_fixed": fixed,
            "queue_row": queue_row,
            "accept_row": accept_row,
            "handle": handle,
            "call_bytes": call_bytes,
        }
    finally:
        await close_services(services)


async def _measure_accept(services: Services, n: int, batch: int = 16) -> float:
    now = services.clock.now()
    rows = [
        {
            "activity_id": f"https://c{i}.example/activities/{i}",
            "activity_type": "Create",
            "actor": f"https://c{i}.example/actors/chapter",
            "body": {"type": "Create", "id": f"https://c{i}.example/activities/{i}"},
            "body_sha256": f"{i:064x}",
            "state": "received",
            "attempts": 0,
            "received_at": now,
        }
        for i in range(n)
    ]
    started = time.perf_counter()
    for at in range(0, n, batch):
        async with services.db.write() as session:
            await inbox_repo.insert_many(session, rows[at : at + batch])
    return (time.perf_counter() - started) / n


async def _measure_handle(services: Services, campaign: LocalActor, n: int) -> float:
    t0 = datetime(2027, 4, 12, 14, tzinfo=UTC)
    reports = [
        ImpactReport(
            id=f"https://c{i}.example/reports/{i}",
            chapter=f"https://c{i}.example/actors/chapter",
            call=f"https://c{i}.example/actions/day",
            measures=(Measure("participants", "people", Decimal(i % 90 + 1)),),
            published=t0,
        )
        for i in range(n)
    ]
    started = time.perf_counter()
    for report in reports:
        async with services.db.write() as session:
            await count_report(session, campaign, report, "f" * 64, report.chapter, t0)
    return (time.perf_counter() - started) / n


def measure_proof(sources: int = 2000) -> tuple[float, int]:
    """Seconds per KiB to sign a rollup (JCS + Ed25519), and an impact report's bytes."""
    key = generate_ed25519_key()
    doc = policies.rollup_document(sources)
    kib = len(orjson.dumps(doc)) / 1024
    now = datetime.now(UTC)

    def sign() -> float:
        started = time.perf_counter()
        create_proof(doc, key, verification_method="https://x.example/k#ed", created=now)
        return (time.perf_counter() - started) / kib

    report = policies.report_document()
    signed = create_proof(report, key, verification_method="https://x.example/k#ed", created=now)
    return _median(sign), len(orjson.dumps(policies.report_create(signed)))


async def measure(progress: Callable[[str], None] = lambda _: None, n: int = 2000) -> Costs:
    """Every cost, in this process, now."""
    body = orjson.dumps({"type": "Create", "id": "https://x.example/a", "object": CALL})
    progress("costs: signing and verifying")
    sign, verify = measure_crypto(body)
    progress("costs: delivering over loopback")
    sinks = Sinks(50)
    try:
        post_total, sink = await measure_post(sinks, body, n)
    finally:
        sinks.close()
    progress("costs: the node's database (publish, queue, accept, handle)")
    with tempfile.TemporaryDirectory() as tmp:
        node = await measure_node(Path(tmp), n)
    proof_per_kb, report_bytes = measure_proof()
    announce_bytes = policies.announce_bytes()
    return Costs(
        sign=sign,
        verify=verify,
        post=max(post_total - sign, 0.0),
        publish_row=float(node["publish_row"]),
        publish_fixed=float(node["publish_fixed"]),
        queue_row=float(node["queue_row"]),
        accept_row=float(node["accept_row"]),
        handle=float(node["handle"]),
        sink=sink,
        proof_per_kb=proof_per_kb,
        call_bytes=int(node["call_bytes"]),
        announce_bytes=announce_bytes,
        report_bytes=report_bytes,
    )


if __name__ == "__main__":  # python -m bench.planet.costs: just the costs
    sys.stdout.write(asyncio.run(measure(lambda m: print(m, file=sys.stderr))).describe() + "\n")
