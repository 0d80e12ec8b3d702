"""The large node's rows for ``bench.memory``: bulk-inserted with SQLAlchemy Core
``executemany`` on the data directory the CLI made (sync sqlite3: this is setup, not the node).

Kept apart from the measuring so that the memory benchmark's own process loads the node's
modules only when it fills a node.
"""

from __future__ import annotations

import hashlib
import secrets
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import orjson

if TYPE_CHECKING:
    from sqlalchemy import Table

    from bench.memory_reports import Seeded
    from storage.base import Base

CHAPTER = "climate"
ORGANISER = "org"
BATCH = 10_000
UPCOMING = 100  # of the large node's calls, the ones still to come
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def _table(model: type[Base]) -> Table:
    """A model's table, typed as one (``__table__`` is declared as a FromClause)."""
    return cast("Table", model.__table__)


def say(text: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


class Progress:
    def __init__(self, what: str, total: int) -> None:
        self.what, self.total, self.done = what, total, 0
        self.started = time.monotonic()
        self.step = max(total // 10, 1)

    def add(self, n: int) -> None:
        before = self.done // self.step
        self.done += n
        if self.done // self.step != before or self.done == self.total:
            rate = self.done / max(time.monotonic() - self.started, 1e-9)
            say(f"  {self.what}: {self.done:,}/{self.total:,} ({rate:,.0f} rows/s)")


def batches(rows: Iterator[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def fill(data: Path, members: int, calls: int, activities: int, reports: int) -> Seeded:
    """Bulk rows with SQLAlchemy Core executemany (sync sqlite3: this is setup, not the node)."""
    from sqlalchemy import create_engine, event, func, insert, select

    from bench.memory_reports import fill_reports
    from storage.models import (
        ActionCall,
        Follow,
        InboxItem,
        LocalActor,
        Membership,
        OutboxActivity,
    )

    engine = create_engine(f"sqlite:///{data / 'chapterhouse.db'}")

    @event.listens_for(engine, "connect")
    def pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-400000")
        cursor.close()

    actors = _table(LocalActor)
    now = datetime.now(UTC).replace(microsecond=0)
    with engine.begin() as conn:
        chapter = conn.execute(select(actors).where(actors.c.name == CHAPTER)).one()
        template = conn.execute(select(actors).where(actors.c.name == ORGANISER)).one()
        call = conn.execute(select(_table(ActionCall))).one()
        create = conn.execute(select(_table(OutboxActivity))).one()
    base = chapter.ap_id.rsplit("/actors/", 1)[0]

    def member_rows() -> Iterator[dict[str, Any]]:
        for i in range(members):
            name = f"m{i:07d}"
            yield {
                "name": name,
                "ap_id": f"{base}/actors/{name}",
                "actor_type": "Person",
                "kind": "member",
                "title": f"Member {i}",
                "summary": None,
                "manually_approves_followers": False,
                "rsa_private_pem": template.rsa_private_pem,
                "rsa_public_pem": template.rsa_public_pem,
                "ed25519_private_pem": template.ed25519_private_pem,
                "ed25519_public_multibase": template.ed25519_public_multibase,
                "password_hash": None,
                "created_at": now - timedelta(seconds=members - i),
            }

    progress = Progress("members", members)
    for batch in batches(member_rows()):
        with engine.begin() as conn:
            conn.execute(insert(actors), batch)
            ids = dict(
                conn.execute(
                    select(actors.c.name, actors.c.id).where(
                        actors.c.name.in_([r["name"] for r in batch])
                    )
                ).all()
            )
            conn.execute(
                insert(_table(Membership)),
                [
                    {
                        "member_id": ids[r["name"]],
                        "chapter_id": chapter.id,
                        "role": "member",
                        "active": True,
                        "created_at": r["created_at"],
                    }
                    for r in batch
                ],
            )
            conn.execute(
                insert(_table(Follow)),
                [
                    {
                        "activity_id": f"{base}/activities/follow-{r['name']}",
                        "follower": r["ap_id"],
                        "target": chapter.ap_id,
                        "follower_inbox": None,
                        "state": "accepted",
                        "created_at": r["created_at"],
                        "updated_at": r["created_at"],
                    }
                    for r in batch
                ],
            )
        progress.add(len(batch))

    # Calls six hours apart, published in that order: all but the last ``UPCOMING`` (or half,
    # on a small node) are over, as in a chapter's long history; each started one has a report.
    first_start = now - timedelta(hours=6 * (calls - min(calls // 2, UPCOMING)))
    template_doc = call.document
    template_body = create.body
    started: list[tuple[str, datetime, datetime]] = []

    def call_rows() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        for i in range(calls - 1):  # the template is the last one
            start = first_start + timedelta(hours=6 * i)
            end = start + timedelta(hours=3)
            published = now - timedelta(minutes=calls - i)
            call_id = f"{chapter.ap_id}/actions/{ulid(published)}"
            doc = dict(template_doc)
            doc.update(
                id=call_id,
                url=call_id,
                name=f"Action {i}",
                startTime=start.isoformat(),
                endTime=end.isoformat(),
                published=published.isoformat().replace("+00:00", "Z"),
            )
            doc_json = orjson.dumps(doc)
            if start < now:
                started.append((call_id, start, end))
            body = dict(template_body)
            body.update(id=f"{base}/activities/{ulid(published)}", object=orjson.loads(doc_json))
            yield (
                {
                    "ap_id": call_id,
                    "chapter": chapter.ap_id,
                    "local_actor_id": chapter.id,
                    "title": doc["name"],
                    "start_time": start,
                    "end_time": end,
                    "status": call.status,
                    "capacity": None,
                    "participant_count": 0,
                    "document": doc_json,
                    "published_at": published,
                    "updated_at": published,
                    "received_at": published,
                },
                {
                    "ap_id": body["id"],
                    "actor_id": chapter.id,
                    "activity_type": "Create",
                    "body": orjson.dumps(body),
                    "public": True,
                    "published_at": published,
                },
            )

    progress = Progress("action calls (+ outbox Creates)", calls - 1)
    rows = call_rows()
    while chunk := [r for _, r in zip(range(BATCH), rows, strict=False)]:
        with engine.begin() as conn:
            conn.execute(insert(_table(ActionCall)), [c for c, _ in chunk])
            conn.execute(insert(_table(OutboxActivity)), [o for _, o in chunk])
        progress.add(len(chunk))
    # The template call (made first by the CLI) becomes the newest, as if published now.
    outbox = _table(OutboxActivity)
    with engine.begin() as conn:
        newest = conn.scalar(select(func.max(outbox.c.id)))
        conn.execute(outbox.update().where(outbox.c.id == create.id).values(id=newest + 1))

    def inbox_rows() -> Iterator[dict[str, Any]]:
        kinds = ("Create", "Announce", "Like", "Update", "Follow", "Join")
        received = now - timedelta(seconds=activities)
        for i in range(activities):
            host = f"https://peer{i % 4999}.example"
            actor = f"{host}/users/u{i % 997}"
            kind = kinds[i % len(kinds)]
            activity_id = f"{host}/activities/{i:09d}"
            body = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": activity_id,
                "type": kind,
                "actor": actor,
                "object": {
                    "id": f"{host}/notes/{i:09d}",
                    "type": "Note",
                    "attributedTo": actor,
                    "content": f"<p>Solidarity from {host}: see you at the action, #{i}</p>",
                    "to": [PUBLIC],
                    "cc": [f"{actor}/followers"],
                },
                "to": [PUBLIC],
                "cc": [chapter.ap_id],
            }
            raw = orjson.dumps(body)
            at = received + timedelta(seconds=i)
            yield {
                "activity_id": activity_id,
                "activity_type": kind,
                "actor": actor,
                "body": raw,
                "body_sha256": hashlib.sha256(raw).hexdigest(),
                "state": "processed",
                "attempts": 1,
                "error": None,
                "received_at": at,
                "processed_at": at,
            }

    progress = Progress("received activities", activities)
    for batch in batches(inbox_rows()):
        with engine.begin() as conn:
            conn.execute(insert(_table(InboxItem)), batch)
        progress.add(len(batch))
    progress = Progress("impact reports", reports)
    seeded = fill_reports(engine, chapter, started, reports, now, progress)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return seeded


def ulid(at: datetime) -> str:
    from protocol.ids import make_ulid

    return make_ulid(at, secrets.token_bytes(10))
