"""``chapterhouse moderation flags list|resolve``: an admin closes abuse reports with a note.

Every command runs in a subprocess on a node made by ``init`` (no server). A resolution records
who, when and the note; it is final, and every refusal (unknown id, resolved before, not an
admin, no note) exits 1 with a clear message and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.engine import open_database, sqlite_url
from storage.models import Flag
from storage.repositories import moderation as moderation_repo
from tests.rig.cli_helpers import CliNode, init_node


@pytest.fixture(scope="module")
def cli_node(tmp_path_factory) -> CliNode:
    node = init_node(tmp_path_factory.mktemp("flags") / "n")
    node.create_chapter("greenpark")
    node.run("member", "add", "ada", "--role", "admin")
    node.run("member", "add", "mo", "--chapter", "greenpark", "--role", "member")
    return node


@pytest.fixture
async def world(cli_node) -> tuple[CliNode, list[int]]:
    """The module's node with two fresh open flags (other tests' flags stay in the database)."""
    node = cli_node
    db = open_database(sqlite_url(str(node.data_dir / "chapterhouse.db")))
    try:
        async with db.write() as session:
            ids = [
                (
                    await moderation_repo.add_flag(
                        session,
                        activity_id=None,
                        reporter=f"{node.base_url}/actors/mo",
                        targets=[f"https://bad.example/users/{who}"],
                        comment=f"spam from\t{who}",
                        source="local",
                        now=datetime.now(UTC),
                    )
                ).id
                for who in ("troll", "bot")
            ]
    finally:
        await db.dispose()
    return node, ids


async def stored(node: CliNode, flag_id: int) -> Flag:
    db = open_database(sqlite_url(str(node.data_dir / "chapterhouse.db")))
    try:
        async with db.read() as session:
            row = await session.get(Flag, flag_id)
            assert row is not None
            return row
    finally:
        await db.dispose()


async def test_an_admin_resolves_a_flag_once(world):
    node, (first, second) = world
    listed = {f["id"]: f for f in node.json("moderation", "flags", "list")["items"]}
    assert {first, second} <= set(listed)
    assert all(f["state"] == "open" and f["resolution"] is None for f in listed.values())

    result = node.run(
        "moderation",
        "flags",
        "resolve",
        str(first),
        "--note",
        "Blocked bad.example.",
        "--as",
        "ada",
    )
    assert result.stdout.strip() == f"flag {first} resolved by {node.base_url}/actors/ada"
    row = await stored(node, first)
    assert row.state == "resolved"
    assert row.resolved_by == f"{node.base_url}/actors/ada"
    assert row.resolution == "Blocked bad.example."
    assert row.resolved_at is not None and row.resolved_at.tzinfo is not None

    # Final: a second resolution is refused and the first account of it stays.
    again = node.run(
        "moderation", "flags", "resolve", str(first), "--note", "Other.", "--as", "ada", check=False
    )
    assert again.returncode == 1 and again.stdout == ""
    assert f"abuse report {first} is already resolved" in again.stderr
    assert f"{node.base_url}/actors/ada" in again.stderr
    assert (await stored(node, first)).resolution == "Blocked bad.example."

    # Only open flags are listed by default; --all shows who resolved what, and how.
    open_ids = [f["id"] for f in node.json("moderation", "flags", "list")["items"]]
    assert second in open_ids and first not in open_ids
    everything = node.run("moderation", "flags", "list", "--all").stdout.splitlines()
    line = next(x for x in everything if x.startswith(f"{first}\t"))
    fields = line.split("\t")
    assert fields[1] == "resolved" and fields[4] == "spam from troll"  # the tab is flattened
    assert fields[5] == f"{node.base_url}/actors/ada" and fields[7] == "Blocked bad.example."


async def test_without_as_the_operator_resolves_as_the_instance_actor(world):
    node, (_first, second) = world
    out = node.json("moderation", "flags", "resolve", str(second), "--note", "Warned them.")
    assert out["state"] == "resolved" and out["resolution"] == "Warned them."
    assert out["resolved_by"] == f"{node.base_url}/actors/relay"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["999999", "--note", "x", "--as", "ada"], "no abuse report with id 999999"),
        (["not-a-number", "--note", "x"], "no abuse report with id 'not-a-number'"),
        (["99999999999999999999999", "--note", "x"], "no abuse report with id"),
        (["{first}", "--note", "x", "--as", "mo"], "mo is not an admin"),
        (["{first}", "--note", "x", "--as", "nobody"], "no local actor named 'nobody'"),
        (["{first}", "--note", "   "], "note: is required"),
    ],
)
async def test_refusals_exit_1_and_change_nothing(world, args, message):
    node, (first, _second) = world
    argv = [a.format(first=first) for a in args]
    result = node.run("moderation", "flags", "resolve", *argv, check=False)
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert message in result.stderr, result.stderr
    row = await stored(node, first)
    assert row.state == "open" and row.resolution is None and row.resolved_by is None


def test_the_note_is_required_on_the_command_line(world):
    node, (first, _second) = world
    result = node.run("moderation", "flags", "resolve", str(first), check=False)
    assert result.returncode == 2 and "--note" in result.stderr
