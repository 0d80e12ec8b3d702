"""``chapterhouse deliveries`` (list the queue) and ``deliveries retry`` (re-queue), for real.

Each test gets a fresh ``init``'ed data directory whose queue is filled through the storage
layer (no server runs: the rows stay exactly as seeded), then drives the command line in a
subprocess and checks the queue again through the storage layer.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from node.runtime.config import load_settings
from node.runtime.services import INSTANCE_ACTOR
from storage.engine import open_database
from storage.repositories import actors as actor_repo
from storage.repositories import deliveries as delivery_repo
from storage.repositories import delivery_admin
from storage.repositories import outbox as outbox_repo
from storage.repositories.delivery_admin import DeliveryView
from tests.rig.cli_helpers import init_node
from tests.rig.nodes import cli

ACTIVITY = "https://seed.example/activities/1"
# name → (inbox, host); the seeded state follows from the name.
TARGETS = {
    "pending": ("https://a.example/inbox", "a.example"),
    "failing": ("https://b.example/inbox", "b.example"),
    "dead_b": ("https://b.example/users/x/inbox", "b.example"),
    "dead_c": ("https://c.example/inbox", "c.example"),
    "sent": ("https://d.example/inbox", "d.example"),
}


@dataclass
class Queue:
    data: str
    ids: dict[str, int]  # seeded name → delivery id

    def run(self, *args: str, check: bool = True):
        return cli(*args, "--data", self.data, check=check)

    def rows(self) -> dict[int, DeliveryView]:
        return {v.id: v for v in asyncio.run(_all_rows(Path(self.data)))}


async def _all_rows(data_dir: Path) -> list[DeliveryView]:
    db = open_database(load_settings(data_dir).database_url)
    try:
        async with db.read() as session:
            return await delivery_admin.list_deliveries(session, states=None, limit=1000)
    finally:
        await db.dispose()


async def _seed(data_dir: Path) -> dict[str, int]:
    """One activity to five inboxes: pending, failing (one 503), two dead, one sent."""
    now = datetime.now(UTC)
    db = open_database(load_settings(data_dir).database_url)
    try:
        async with db.write() as session:
            relay = await actor_repo.local_actor_by_name(session, INSTANCE_ACTOR)
            assert relay is not None
            activity = await outbox_repo.add(
                session,
                ap_id=ACTIVITY,
                actor_id=relay.id,
                activity_type="Create",
                body={"id": ACTIVITY, "type": "Create"},
                public=True,
                now=now,
            )
            for name in TARGETS:  # one at a time, so ids follow TARGETS' order
                await delivery_repo.enqueue(session, activity.id, [TARGETS[name]], now)
        async with db.read() as session:
            views = await delivery_admin.list_deliveries(session, states=None, limit=100)
        by_inbox = {v.inbox: v.id for v in views}
        ids = {name: by_inbox[inbox] for name, (inbox, _host) in TARGETS.items()}
        async with db.write() as session:
            await delivery_repo.mark_retry(
                session,
                ids["failing"],
                next_attempt_at=now + timedelta(hours=1),
                status=503,
                error="HTTP 503: busy",
            )
            await delivery_repo.mark_dead(
                session, ids["dead_b"], status=400, error="HTTP 400: bad\nrequest"
            )
            await delivery_repo.mark_dead(session, ids["dead_c"], status=None, error="timed out")
            await delivery_repo.mark_sent(session, ids["sent"], now=now, status=202)
        return ids
    finally:
        await db.dispose()


@pytest.fixture
def queue(tmp_path) -> Queue:
    node = init_node(tmp_path / "n")
    return Queue(str(node.data_dir), asyncio.run(_seed(node.data_dir)))


def listed(queue: Queue, *args: str) -> list[dict]:
    out = queue.run("deliveries", *args, "--json").stdout
    doc = json.loads(out)  # exactly one JSON document
    assert isinstance(doc, list)
    return doc


def test_lists_pending_failing_and_dead_newest_first_as_a_table(queue):
    result = queue.run("deliveries")
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "STATE", "TRIES"]
    table = [line.split() for line in lines[1:]]
    ids = queue.ids
    assert [(int(row[0]), row[1]) for row in table] == [
        (ids["dead_c"], "dead"),
        (ids["dead_b"], "dead"),
        (ids["failing"], "failing"),
        (ids["pending"], "pending"),
    ]
    dead_b = next(line for line in lines if line.split()[0] == str(ids["dead_b"]))
    assert "b.example" in dead_b and "Create" in dead_b
    assert "HTTP 400: bad request" in dead_b  # the error, on one line
    assert "d.example" not in result.stdout  # sent rows only on request


def test_json_lists_every_field_and_filters_by_state(queue):
    rows = {r["id"]: r for r in listed(queue)}
    ids = queue.ids
    assert set(rows) == {ids["pending"], ids["failing"], ids["dead_b"], ids["dead_c"]}
    failing = rows[ids["failing"]]
    assert failing == {
        "id": ids["failing"],
        "activity": ACTIVITY,
        "activity_type": "Create",
        "inbox": "https://b.example/inbox",
        "host": "b.example",
        "state": "failing",
        "attempts": 1,
        "next_attempt_at": failing["next_attempt_at"],
        "last_status": 503,
        "last_error": "HTTP 503: busy",
        "created_at": failing["created_at"],
    }
    assert datetime.fromisoformat(failing["next_attempt_at"]) > datetime.now(UTC)
    assert rows[ids["pending"]]["attempts"] == 0
    assert rows[ids["dead_b"]]["next_attempt_at"] is None  # nothing planned for a dead row
    assert rows[ids["dead_b"]]["last_error"] == "HTTP 400: bad\nrequest"

    assert [r["id"] for r in listed(queue, "--state", "sent")] == [ids["sent"]]
    both = listed(queue, "--state", "dead", "--state", "pending")
    assert {r["id"] for r in both} == {ids["dead_b"], ids["dead_c"], ids["pending"]}
    assert [r["id"] for r in listed(queue, "list", "--limit", "1")] == [ids["dead_c"]]


def test_retry_by_id_requeues_that_row_due_now_with_attempts_reset(queue):
    ids = queue.ids
    before = datetime.now(UTC)
    result = queue.run("deliveries", "retry", str(ids["dead_b"]))
    assert result.stdout.strip() == "re-queued 1 delivery"
    rows = queue.rows()
    row = rows[ids["dead_b"]]
    assert (row.state, row.attempts) == ("pending", 0)
    assert row.next_attempt_at is not None and row.next_attempt_at >= before - timedelta(seconds=1)
    assert row.last_error == "HTTP 400: bad\nrequest"  # the history stays for the operator
    assert rows[ids["dead_c"]].state == "dead"
    assert rows[ids["failing"]].state == "failing"


def test_retry_all_dead_leaves_failing_rows_alone(queue):
    ids = queue.ids
    result = queue.run("deliveries", "retry", "--all-dead", "--json")
    assert json.loads(result.stdout) == {"requeued": 2}
    states = {i: v.state for i, v in queue.rows().items()}
    assert states == {
        ids["pending"]: "pending",
        ids["failing"]: "failing",
        ids["dead_b"]: "pending",
        ids["dead_c"]: "pending",
        ids["sent"]: "sent",
    }


def test_retry_host_requeues_its_dead_and_failing_rows(queue):
    ids = queue.ids
    assert queue.run("deliveries", "retry", "--host", "b.example").stdout.strip() == (
        "re-queued 2 deliveries"
    )
    rows = queue.rows()
    assert (rows[ids["failing"]].state, rows[ids["failing"]].attempts) == ("pending", 0)
    assert rows[ids["dead_b"]].state == "pending"
    assert rows[ids["dead_c"]].state == "dead"
    assert queue.run("deliveries", "retry", "--host", "nobody.example").stdout.strip() == (
        "re-queued 0 deliveries"
    )


def test_retry_refuses_rows_that_are_not_dead_or_failing(queue):
    ids = queue.ids
    result = queue.run("deliveries", "retry", str(ids["sent"]), str(ids["dead_c"]), check=False)
    assert result.returncode == 1
    assert result.stdout.strip() == "re-queued 1 delivery"
    assert "only 1 of the 2 deliveries" in result.stderr
    assert result.stderr.count("\n") == 1  # one error line
    rows = queue.rows()
    assert rows[ids["sent"]].state == "sent"
    assert rows[ids["dead_c"]].state == "pending"
    missing = queue.run("deliveries", "retry", "999999", check=False)
    assert missing.returncode == 1 and "only 0 of the 1" in missing.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("deliveries", "retry"),  # nothing selected
        ("deliveries", "retry", "1", "--all-dead"),  # two selectors
        ("deliveries", "retry", "--all-dead", "--host", "b.example"),
        ("deliveries", "retry", "notanumber"),
        ("deliveries", "--state", "dead", "retry", "--all-dead"),  # a listing option
        ("deliveries", "--state", "stuck"),
        ("deliveries", "--limit", "0"),
        ("deliveries", "purge"),
    ],
)
def test_usage_errors_exit_2_and_change_nothing(queue, args):
    before = {i: (v.state, v.attempts) for i, v in queue.rows().items()}
    result = queue.run(*args, check=False)
    assert result.returncode == 2, result.stderr
    assert "usage:" in result.stderr
    assert {i: (v.state, v.attempts) for i, v in queue.rows().items()} == before


def test_data_is_required_and_must_be_a_node(tmp_path):
    for args in (("deliveries",), ("deliveries", "retry", "--all-dead")):
        result = cli(*args, check=False)
        assert result.returncode == 2 and "--data" in result.stderr
    result = cli("deliveries", "--data", str(tmp_path / "nothing"), check=False)
    assert result.returncode == 1
    assert "not a Chapterhouse data directory" in result.stderr
