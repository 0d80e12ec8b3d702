"""``chapterhouse action create|update --slot "10:00-12:00 litter pickers:10"`` (the contract of
issue 16), through the real command line: repeatable, on the call's date in its zone, replaced
by ``update --slot``, removed by ``--clear slots``; a bad slot is exit 1 and stores nothing."""

from __future__ import annotations

import json

import pytest

from tests.rig.cli_helpers import CliNode, init_node, last_line

CREATE = (
    "create",
    "--chapter",
    "greenpark",
    "--title",
    "Canal clean-up",
    "--start",
    "2027-07-12T10:00",
    "--end",
    "2027-07-12T13:00",
)


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> CliNode:
    n = init_node(tmp_path_factory.mktemp("cli-slots") / "n")
    n.chapters["greenpark"] = n.run(
        "chapter", "create", "greenpark", "--timezone", "Europe/London"
    ).stdout.strip()
    n.add_member("olga", "greenpark", "organiser")
    return n


def action(node: CliNode, *args: str, check: bool = True):
    return node.run("action", *args, "--as", "olga", check=check)


def calls(node: CliNode) -> list[dict]:
    return node.json("action", "list", "--chapter", "greenpark")


def slots(call: dict) -> list[tuple[str, str, str, str, int]]:
    return [
        (s["id"].rsplit("#", 1)[1], s["name"], s["start"][11:16], s["end"][11:16], s["capacity"])
        for s in call["slots"]
    ]


def test_create_with_two_slots_then_update_and_clear_them(node):
    made = action(
        node,
        *CREATE,
        "--slot",
        "10:00-12:00 litter pickers:10",
        "--slot",
        "12:00-13:00 sorting:4",
        "--json",
    )
    call = json.loads(made.stdout)
    assert slots(call) == [
        ("slot-1", "litter pickers", "10:00", "12:00", 10),
        ("slot-2", "sorting", "12:00", "13:00", 4),
    ]
    assert call["slots"][0]["start"] == "2027-07-12T10:00:00+01:00"  # the chapter's zone
    assert call["capacity"] == 14
    assert [c["id"] for c in calls(node)] == [call["id"]]

    # --slot on update replaces them all; sorting keeps its id, the new one takes slot-3.
    updated = action(
        node,
        "update",
        call["id"],
        "--slot",
        "12:00-13:00 sorting:6",
        "--slot",
        "10:00-11:00 first aid:1",
        "--json",
    )
    assert slots(json.loads(updated.stdout)) == [
        ("slot-2", "sorting", "12:00", "13:00", 6),
        ("slot-3", "first aid", "10:00", "11:00", 1),
    ]
    # Other options leave them alone; --clear slots removes them (the capacity stays).
    retitled = json.loads(action(node, "update", call["id"], "--title", "Canal", "--json").stdout)
    assert len(retitled["slots"]) == 2
    cleared = json.loads(action(node, "update", call["id"], "--clear", "slots", "--json").stdout)
    assert (cleared["slots"], cleared["capacity"]) == ([], 7)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        # Every refusal's wording is tested in tests/node/features/calls/test_slot_input.py;
        # here, that the command line reports one and stores nothing (each case costs three
        # command runs).
        (("--slot", "10:00-12:00 litter pickers"), "must look like START-END ROLE:CAPACITY"),
        (("--slot", "09:00-12:00 early:3"), "is not within the call"),
    ],
)
def test_a_bad_slot_is_exit_1_with_the_reason_and_nothing_stored(node, args, words):
    before = calls(node)
    refused = action(node, *CREATE, *args, check=False)
    assert refused.returncode == 1, refused
    assert refused.stdout == ""
    assert words in last_line(refused.stderr), refused.stderr
    assert calls(node) == before


def test_update_refuses_a_contradiction_and_bad_slots(node):
    call = json.loads(action(node, *CREATE, "--slot", "10:00-12:00 litter:3", "--json").stdout)
    before = calls(node)
    both = action(
        node, "update", call["id"], "--clear", "slots", "--slot", "10:00-11:00 a:1", check=False
    )
    assert both.returncode == 1
    assert "--clear slots contradicts" in last_line(both.stderr), both.stderr
    late = action(node, "update", call["id"], "--slot", "12:00-14:00 late:2", check=False)
    assert late.returncode == 1
    assert "slot 1 (late)" in last_line(late.stderr) and "not within the call" in late.stderr
    assert calls(node) == before
    helped = node.run("action", "create", "--help")
    assert "--slot START-END ROLE:CAPACITY" in helped.stdout
