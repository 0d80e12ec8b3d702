"""Both nodes remember a follow across restarts, including a kill -9; driven by the real CLI."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.rig.http import collection_items
from tests.rig.nodes import NodeProcess, cli, free_port


def _following(node: NodeProcess, name: str) -> list[dict[str, str]]:
    out = cli("following", "--data", str(node.data_dir), "--as", name, "--json").stdout
    return json.loads(out)


def _wait_state(
    node: NodeProcess, name: str, expected: list[dict[str, str]], timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = _following(node, name)
        if got == expected:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"following of {name} is {got}, expected {expected}")
        time.sleep(0.2)


@pytest.fixture
def two_nodes(tmp_path: Path):
    a = NodeProcess(tmp_path / "a", free_port())
    b = NodeProcess(tmp_path / "b", free_port())
    yield a, b
    a.stop(signal.SIGKILL)
    b.stop(signal.SIGKILL)


async def test_follow_survives_restarts_of_both_nodes(two_nodes):
    a, b = two_nodes
    a.init()
    b.init()
    chapter_id = cli("chapter", "create", "greenpark", "--data", str(b.data_dir)).stdout.strip()
    added = cli("member", "add", "alice", "--data", str(a.data_dir)).stdout.splitlines()
    alice_id = added[0]
    assert added[1].startswith("token: chp_")
    a.start()
    b.start()

    out = cli("follow", "--data", str(a.data_dir), "--as", "alice", f"acct:greenpark@{b.authority}")
    assert out.stdout.split() == [chapter_id, "pending"]
    accepted = [{"target": chapter_id, "state": "accepted"}]
    _wait_state(a, "alice", accepted)
    assert await collection_items(f"{chapter_id}/followers") == [alice_id]

    a.stop(signal.SIGKILL)  # a crash
    b.stop(signal.SIGTERM)  # a clean shutdown
    a.start()
    b.start()
    assert _following(a, "alice") == accepted
    assert await collection_items(f"{chapter_id}/followers") == [alice_id]

    cli("unfollow", "--data", str(a.data_dir), "--as", "alice", chapter_id)
    deadline = time.monotonic() + 30
    while await collection_items(f"{chapter_id}/followers"):
        assert time.monotonic() < deadline, "B never applied the Undo"
        time.sleep(0.2)
    a.stop()
    b.stop()
    a.start()
    b.start()
    assert _following(a, "alice") == []
    assert await collection_items(f"{chapter_id}/followers") == []
