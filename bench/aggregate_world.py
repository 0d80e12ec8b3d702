"""A node holding campaigns, remote member chapters and their reports, for ``bench.aggregate``
(and the batch intake's tests): set up in bulk (SQLAlchemy Core), so that a large world is
quick to build, but exactly as the node keeps it.

- Each campaign is a local ``campaign`` actor with one call of its own.
- Each remote chapter has an Ed25519 key (its proofs, eddsa-jcs-2022 as ``sign_object`` makes
  them), a cached actor document publishing that key in ``assertionMethod`` (so the resolver
  finds it without a fetch), one call adopting its campaign's call, and an accepted follow of
  the campaign (it is a member: membership is checked for real).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select

from protocol.actors import ActorSpec, Multikey, build_actor
from protocol.impact import ImpactReport, Measure, build_report
from protocol.keys import (
    ed25519_private_from_multibase,
    ed25519_private_to_multibase,
    ed25519_public_to_multibase,
    generate_ed25519_key,
)
from protocol.proofs import create_proof
from storage.engine import Database
from storage.models import ActionCall, Follow, LocalActor, RemoteActor
from storage.models.follow import ACCEPTED

NODE = "https://node.example"
T0 = datetime(2027, 4, 12, 12, 0, tzinfo=UTC)  # the node's clock; calls started a day before
STARTED = T0 - timedelta(days=1)
#: One RSA key for every chapter's HTTP signatures (unused here: the actor document needs one).
RSA_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
    "-----END PUBLIC KEY-----\n"
)
CHUNK = 5_000


def chapter_id(n: int) -> str:
    return f"https://c{n}.example/actors/chapter"


def campaign_id(name: str) -> str:
    return f"{NODE}/actors/{name}"


def campaign_call(name: str) -> str:
    return f"{campaign_id(name)}/actions/day"


def chapter_call(n: int, k: int = 0) -> str:
    return f"{chapter_id(n)}/actions/day" + (f"-{k}" if k else "")


def report_id(chapter: int, i: int) -> str:
    return f"{chapter_id(chapter)}/reports/{i:08d}"


@dataclass(frozen=True)
class Chapter:
    n: int
    campaign: str  # the campaign's name
    key: str  # the Ed25519 private key, multibase (picklable, for signing in other processes)

    @property
    def actor(self) -> str:
        return chapter_id(self.n)

    def private_key(self) -> Ed25519PrivateKey:
        return ed25519_private_from_multibase(self.key)


def measures(participants: int, kg: Decimal) -> tuple[Measure, ...]:
    return (
        Measure("participants", "people", Decimal(participants)),
        Measure("kg_litter", "kg", kg),
    )


def report_doc(
    chapter: Chapter,
    i: int,
    version: datetime,
    values: tuple[Measure, ...],
    *,
    signed: bool,
    call: int = 0,
) -> dict[str, object]:
    """Report ``i`` of ``chapter`` on its call ``call`` in the version dated ``version``, with
    the chapter's proof when ``signed``."""
    report = ImpactReport(
        id=report_id(chapter.n, i),
        chapter=chapter.actor,
        call=chapter_call(chapter.n, call),
        measures=values,
        published=STARTED,
        updated=version if version != STARTED else None,
        content="Clean-up",
    )
    doc = build_report(report, cc=[f"{chapter.actor}/followers"])
    if not signed:
        return doc
    return create_proof(
        doc,
        chapter.private_key(),
        verification_method=f"{chapter.actor}#ed25519-key",
        created=version,
    )


def sign_reports(
    jobs: Sequence[tuple[Chapter, int, datetime, tuple[Measure, ...], int]],
) -> list[Any]:
    """``report_doc(..., signed=True)`` for many (run in worker processes by the benchmark)."""
    return [report_doc(c, i, v, m, signed=True, call=k) for c, i, v, m, k in jobs]


def actor_row(chapter: Chapter, fetched_at: datetime = T0) -> dict[str, object]:
    public = ed25519_private_from_multibase(chapter.key).public_key()
    base = chapter.actor
    document = build_actor(
        ActorSpec(
            id=base,
            type="Group",
            preferred_username="chapter",
            name=f"Chapter {chapter.n}",
            summary=None,
            url=base,
            inbox=f"{base}/inbox",
            outbox=f"{base}/outbox",
            followers=f"{base}/followers",
            following=f"{base}/following",
            shared_inbox=f"https://c{chapter.n}.example/inbox",
            public_key_id=f"{base}#main-key",
            public_key_pem=RSA_PEM,
            assertion_method=Multikey(
                f"{base}#ed25519-key", base, ed25519_public_to_multibase(public)
            ),
            kind="chapter",
        )
    )
    return {
        "ap_id": base,
        "actor_type": "Group",
        "preferred_username": "chapter",
        "host": f"c{chapter.n}.example",
        "inbox": f"{base}/inbox",
        "shared_inbox": f"https://c{chapter.n}.example/inbox",
        "public_key_id": f"{base}#main-key",
        "public_key_pem": RSA_PEM,
        "document": document,
        "fetched_at": fetched_at,
        "gone_at": None,
    }


def call_row(
    ap_id: str,
    chapter: str,
    local_id: int | None,
    link: str | None,
    start: datetime = STARTED,
) -> dict[str, Any]:
    document: dict[str, object] = {"id": ap_id, "type": "Event", "attributedTo": chapter}
    if link is not None:
        document["chapterhouse:campaign"] = link
    return {
        "ap_id": ap_id,
        "chapter": chapter,
        "local_actor_id": local_id,
        "title": "Clean-up day",
        "start_time": start,
        "end_time": start + timedelta(hours=3),
        "status": "confirmed",
        "capacity": None,
        "participant_count": 0,
        "document": document,
        "published_at": STARTED - timedelta(days=30),
        "updated_at": STARTED - timedelta(days=30),
        "received_at": STARTED - timedelta(days=30),
    }


async def seed(
    db: Database,
    chapters: int,
    campaigns: Sequence[str] = ("climate",),
    first: int = 0,
    *,
    calls_per_chapter: int = 1,
    fetched_at: datetime = T0,
) -> list[Chapter]:
    """Campaigns (created if missing) and ``chapters`` member chapters spread over them, each
    with ``calls_per_chapter`` calls (a campaign counts one live report per chapter and call);
    the chapters' actor documents count as fetched at ``fetched_at``."""
    made = [
        Chapter(
            n, campaigns[n % len(campaigns)], ed25519_private_to_multibase(generate_ed25519_key())
        )
        for n in range(first, first + chapters)
    ]
    async with db.write() as session:
        ids: dict[str, int] = {}
        for name in campaigns:
            held = await session.scalar(select(LocalActor).where(LocalActor.name == name))
            if held is not None:
                ids[name] = held.id
                continue
            actor = LocalActor(
                name=name,
                ap_id=campaign_id(name),
                actor_type="Group",
                kind="campaign",
                title=name.capitalize(),
                summary=None,
                manually_approves_followers=False,
                rsa_private_pem="-",
                rsa_public_pem="-",
                ed25519_private_pem="-",
                ed25519_public_multibase="-",
                created_at=T0 - timedelta(days=60),
            )
            session.add(actor)
            await session.flush()
            ids[name] = actor.id
            await session.execute(
                insert(ActionCall), [call_row(campaign_call(name), actor.ap_id, actor.id, None)]
            )
        for start in range(0, len(made), CHUNK):
            part = made[start : start + CHUNK]
            await session.execute(insert(RemoteActor), [actor_row(c, fetched_at) for c in part])
            await session.execute(
                insert(ActionCall),
                [
                    call_row(chapter_call(c.n, k), c.actor, None, campaign_call(c.campaign))
                    for c in part
                    for k in range(calls_per_chapter)
                ],
            )
            await session.execute(
                insert(Follow),
                [
                    {
                        "activity_id": f"{c.actor}/follows/{c.campaign}",
                        "follower": c.actor,
                        "target": campaign_id(c.campaign),
                        "follower_inbox": f"https://c{c.n}.example/inbox",
                        "state": ACCEPTED,
                        "created_at": STARTED,
                        "updated_at": STARTED,
                    }
                    for c in part
                ],
            )
    return made
