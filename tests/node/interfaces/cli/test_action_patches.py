"""The command line of issue 15, in its documented forms: a chapter's time zone, times with or
without an offset, and ``action update`` as a patch (``--place`` keeps the address,
``--address`` applies, ``--target`` keeps the other targets, ``--remove-target`` removes one,
nothing silently ignored)."""

from __future__ import annotations

import json

import pytest

from tests.rig.cli_helpers import CliNode, init_node, last_line


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> CliNode:
    n = init_node(tmp_path_factory.mktemp("cli-patches") / "n")
    made = n.run("chapter", "create", "greenpark", "--timezone", "Europe/London")
    n.chapters["greenpark"] = made.stdout.strip()
    assert "Europe/London" in made.stderr
    n.add_member("olga", "greenpark", "organiser")
    return n


def action(node: CliNode, *args: str, check: bool = True):
    return node.run("action", *args, "--as", "olga", check=check)


def calls(node: CliNode) -> dict[str, dict]:
    return {c["id"]: c for c in node.json("action", "list", "--chapter", "greenpark")}


def test_chapter_zone_and_times_with_or_without_an_offset(node):
    # `chapter update` changes only what it is given; a bad zone or nothing to change is exit 1.
    updated = node.run("chapter", "update", "greenpark", "--timezone", "America/New_York")
    assert updated.stdout.strip() == node.chapters["greenpark"]
    for args in (("--timezone", "Mars/Olympus_Mons"), ()):
        refused = node.run("chapter", "update", "greenpark", *args, check=False)
        assert refused.returncode == 1, refused
        assert last_line(refused.stderr).startswith("error: "), refused.stderr

    # Without an offset: local time in the chapter's zone.
    made = action(
        node,
        "create",
        "--chapter",
        "greenpark",
        "--title",
        "Local time",
        "--start",
        "2027-07-12T10:00",
        "--end",
        "2027-07-12T12:00",
        "--json",
    )
    call = json.loads(made.stdout)
    assert (call["start"], call["end"], call["timezone"]) == (
        "2027-07-12T10:00:00-04:00",
        "2027-07-12T12:00:00-04:00",
        "America/New_York",
    )

    # The call: an offset that disagrees with --timezone is refused, giving both.
    refused = action(
        node,
        "create",
        "--chapter",
        "greenpark",
        "--title",
        "Two times",
        "--start",
        "2027-07-12T10:00:00+00:00",
        "--end",
        "2027-07-12T12:00:00+00:00",
        "--timezone",
        "Europe/London",
        check=False,
    )
    assert refused.returncode == 1, refused
    assert refused.stdout == ""
    assert last_line(refused.stderr) == (
        "error: start: 2027-07-12T10:00:00+00:00 is 11:00 in Europe/London (UTC+01:00), not "
        "10:00: give the time as 2027-07-12T11:00:00+01:00, or without an offset"
    )
    assert not any(c["title"] == "Two times" for c in calls(node).values())


def test_update_changes_only_what_it_is_given(node):
    made = action(
        node,
        "create",
        "--chapter",
        "greenpark",
        "--title",
        "Canal clean-up",
        "--start",
        "2027-07-12T10:00:00-04:00",
        "--end",
        "2027-07-12T13:00:00-04:00",
        "--place",
        "Lock 7",
        "--address",
        "Towpath, Green Park",
        "--latitude",
        "51.5",
        "--longitude",
        "-0.1",
        "--online-url",
        "https://meet.example/canal",
        "--target",
        "participants=50:people",
        "--target",
        "kg_litter=200:kg",
        "--tag",
        "canal",
    )
    call_id = made.stdout.strip()
    before = calls(node)[call_id]

    # --place keeps the address and coordinates; --target keeps the other target.
    once = json.loads(
        action(
            node,
            "update",
            call_id,
            "--place",
            "Lock 8",
            "--target",
            "participants=80:people",
            "--json",
        ).stdout
    )
    assert once["place"] == {**before["place"], "name": "Lock 8"}
    assert once["targets"] == [
        {"metric": "participants", "unit": "people", "target": 80},
        {"metric": "kg_litter", "unit": "kg", "target": 200},
    ]
    # --address alone applies (it was silently ignored); --remove-target removes one target.
    twice = json.loads(
        action(
            node,
            "update",
            call_id,
            "--address",
            "Lock 8, Regent's Canal",
            "--remove-target",
            "kg_litter:kg",
            "--json",
        ).stdout
    )
    assert twice["place"] == {**once["place"], "address": "Lock 8, Regent's Canal"}
    assert twice["targets"] == [{"metric": "participants", "unit": "people", "target": 80}]
    for kept in ("start", "end", "timezone", "online_url", "tags", "title"):
        assert twice[kept] == before[kept], kept

    # Nothing is ignored: a target the call lacks, or an update with nothing in it, is exit 1.
    for args in (("--remove-target", "trees:trees"), ()):
        refused = action(node, "update", call_id, *args, check=False)
        assert refused.returncode == 1, (args, refused)
        assert refused.stdout == ""
    assert calls(node)[call_id]["targets"] == twice["targets"]

    # --help says so.
    usage = node.run("action", "update", "--help").stdout
    assert "--remove-target" in usage
    assert "only the options given change" in " ".join(usage.split())
