"""The directory index: text search through the database's own index (FTS5 on SQLite, a GIN
tsvector index on PostgreSQL), topic and language filters, and known nodes under a lease."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from storage.repositories import directory as repo
from tests.rig.database import on_postgresql
from tests.storage.builders import NOW


def entry(title: str, **values: object) -> dict[str, object]:
    return {
        "kind": "chapter",
        "name": title.lower().replace(" ", "_"),
        "title": title,
        "summary": values.pop("summary", None),
        "origin": values.pop("origin", "https://a.example"),
        "topics": values.pop("topics", None),
        "languages": values.pop("languages", None),
        **values,
    }


async def search(db, words=None, **filters) -> list[str]:
    async with db.read() as session:
        rows = await repo.search_entries(
            session,
            text=words,
            topic=filters.get("topic"),
            language=filters.get("language"),
            limit=50,
        )
    return [r.title for r in rows]


async def test_text_search_uses_the_databases_own_index_and_follows_changes(db):
    async with db.write() as session:
        await repo.put_entries(
            session,
            {
                "https://a.example/actors/rivers": entry(
                    "River Keepers", summary="We clean the Rhône banks", topics=["climate"]
                ),
                "https://a.example/actors/bikes": entry("Bike Kitchen", place_name="Zürich"),
            },
            now=NOW,
        )
    assert await search(db, "rhone") == ["River Keepers"]  # accents folded (SQLite)
    assert await search(db, "river keep") == ["River Keepers"]  # every word, as a prefix
    assert await search(db, "bike") == ["Bike Kitchen"]
    assert await search(db, "keepers kitchen") == []
    assert await search(db, '"); DROP TABLE x; --') == []  # syntax is never passed through
    assert await search(db, "climate") == ["River Keepers"]  # topics are indexed
    # An update replaces the indexed text; a delete removes it.
    async with db.write() as session:
        await repo.put_entries(
            session, {"https://a.example/actors/rivers": entry("Canal Crew")}, now=NOW
        )
    assert await search(db, "river") == []
    assert await search(db, "canal") == ["Canal Crew"]
    async with db.write() as session:
        await repo.remove_entries(session, ["https://a.example/actors/rivers"])
    assert await search(db, "canal") == []
    # The index is the database's: the FTS5 table on SQLite, a GIN index on PostgreSQL.
    async with db.read() as session:
        if on_postgresql():
            found = await session.scalar(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_directory_entries_fts'")
            )
            assert "gin" in str(found) and "to_tsvector" in str(found)
        else:
            hits = await session.scalar(
                text("SELECT count(*) FROM directory_fts WHERE directory_fts MATCH 'bike*'")
            )
            assert hits == 1


async def test_topic_and_language_filters(db):
    async with db.write() as session:
        await repo.put_entries(
            session,
            {
                "https://a.example/actors/a": entry("A", topics=["Climate"], languages=["fr-CA"]),
                "https://a.example/actors/b": entry(
                    "B", topics=["climatejustice"], languages=["en"]
                ),
            },
            now=NOW,
        )
    assert await search(db, topic="#climate") == ["A"]
    assert await search(db, language="fr") == ["A"]
    assert await search(db, language="fr-ca") == ["A"]
    assert await search(db, language="en") == ["B"]
    assert await search(db, language="e") == []


async def test_a_remote_copy_never_replaces_a_local_entry(db):
    actor = "https://a.example/actors/ours"
    async with db.write() as session:
        await repo.put_entries(session, {actor: entry("Ours", local=True)}, now=NOW)
        await repo.put_entries(session, {actor: entry("Forged")}, now=NOW)
    assert await search(db) == ["Ours"]


async def test_nodes_are_capped_and_claimed_once_under_a_lease(db):
    async with db.write() as session:
        added = await repo.add_nodes(
            session,
            {
                "https://b.example": "campaign",
                "https://c.example": "peer",
                "https://d.example": "seed",
            },
            now=NOW,
            cap=2,
        )
        again = await repo.add_nodes(session, {"https://b.example": "seed"}, now=NOW, cap=2)
    assert (added, again) == (2, 0)
    lease = timedelta(minutes=5)
    async with db.write() as session:
        first = await repo.claim_due_nodes(session, now=NOW, lease=lease, limit=10)
    async with db.write() as session:
        second = await repo.claim_due_nodes(session, now=NOW, lease=lease, limit=10)
    assert [n.origin for n in first] == ["https://b.example", "https://c.example"]
    assert second == []
    async with db.write() as session:
        await repo.settle_node(
            session, first[0].id, fetched_at=NOW, next_fetch_at=NOW + timedelta(hours=1)
        )
        await repo.settle_node(session, first[1].id, next_fetch_at=NOW)
    later = NOW + timedelta(minutes=10)
    async with db.write() as session:  # "refresh now" keeps the hour between two fetches
        await repo.make_due(session, now=later, interval=timedelta(hours=1))
        due = await repo.claim_due_nodes(session, now=later, lease=lease, limit=10)
    assert [n.origin for n in due] == ["https://c.example"]
