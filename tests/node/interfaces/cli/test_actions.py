"""The action-call command line, exactly in its documented forms, on one local node.

Everything here is local to the node, so no server runs: ``chapterhouse`` works on the data
directory directly. All tests share one node (made once per module) and each creates its own
calls, so they do not depend on each other's order.
"""

from __future__ import annotations

import pytest

from tests.rig.cli_helpers import CliNode, init_node, last_line, names_word

START = "2027-04-12T10:00:00+01:00"
END = "2027-04-12T13:00:00+01:00"


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> CliNode:
    n = init_node(tmp_path_factory.mktemp("cli-actions") / "n")
    n.create_chapter("greenpark")
    n.add_member("olga", "greenpark", "organiser")
    n.add_member("mo", "greenpark", "member")
    n.add_member("pat", "greenpark", "member")
    return n


def create(node: CliNode, *options: str, title: str, as_name: str = "olga", check: bool = True):
    return node.run(
        "action",
        "create",
        "--as",
        as_name,
        "--chapter",
        "greenpark",
        "--title",
        title,
        *options,
        check=check,
    )


def created_id(node: CliNode, *options: str, title: str) -> str:
    """Create a call (start/end default to START/END) and return the id it printed."""
    times = () if "--start" in options else ("--start", START, "--end", END)
    return create(node, *times, *options, title=title).stdout.strip()


def listed(node: CliNode) -> dict[str, dict]:
    calls = node.json("action", "list", "--chapter", "greenpark")
    assert isinstance(calls, list)
    return {c["id"]: c for c in calls}


def test_create_list_update_and_cancel(node):
    chapter_id = node.chapters["greenpark"]
    result = create(
        node,
        "--start",
        START,
        "--end",
        END,
        "--timezone",
        "Europe/London",
        "--place",
        "Lock 7",
        "--capacity",
        "12",
        "--goal",
        "Clear the towpath",
        "--target",
        "participants=50:people",
        "--target",
        "kg_litter=200:kg",
        title="Canal clean-up",
    )
    # stdout is exactly the call's id, on one line, under the chapter's actor URL.
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    call_id = lines[0]
    assert result.stdout == call_id + "\n"
    assert call_id.startswith(chapter_id + "/actions/")
    assert len(call_id) > len(chapter_id + "/actions/")

    call = listed(node)[call_id]
    assert call["title"] == "Canal clean-up"
    assert call["chapter"] == chapter_id
    assert call["local"] is True
    assert (call["start"], call["end"]) == (START, END)
    assert call["timezone"] == "Europe/London"
    assert call["place"]["name"] == "Lock 7"
    assert call["capacity"] == 12
    assert call["goal"] == "Clear the towpath"
    assert call["targets"] == [
        {"metric": "participants", "unit": "people", "target": 50},
        {"metric": "kg_litter", "unit": "kg", "target": 200},
    ]
    assert call["status"] == "confirmed"
    assert (call["participant_count"], call["remaining"]) == (0, 12)
    assert call["updated"] is None

    updated = node.run(
        "action",
        "update",
        call_id,
        "--as",
        "olga",
        "--title",
        "Canal clean-up (moved to Lock 8)",
        "--start",
        "2027-04-13T09:00:00+01:00",
        "--end",
        "2027-04-13T12:30:00+01:00",
        "--timezone",
        "Europe/Dublin",
        "--place",
        "Lock 8",
        "--capacity",
        "30",
        "--target",
        "participants=80:people",
    )
    assert updated.stdout.splitlines()[0] == call_id

    call = listed(node)[call_id]
    assert call["title"] == "Canal clean-up (moved to Lock 8)"
    assert (call["start"], call["end"]) == (
        "2027-04-13T09:00:00+01:00",
        "2027-04-13T12:30:00+01:00",
    )
    assert call["timezone"] == "Europe/Dublin"
    assert call["place"]["name"] == "Lock 8"
    assert call["capacity"] == 30
    # --target on update replaces that metric and unit only; the other target stays.
    assert call["targets"] == [
        {"metric": "participants", "unit": "people", "target": 80},
        {"metric": "kg_litter", "unit": "kg", "target": 200},
    ]
    assert call["goal"] == "Clear the towpath"  # not given to update: kept
    assert call["status"] == "confirmed"
    assert call["updated"] is not None

    cancelled = node.run("action", "cancel", call_id, "--as", "olga")
    assert cancelled.stdout.splitlines()[0] == call_id
    assert listed(node)[call_id]["status"] == "cancelled"

    # Without --json: one tab-separated line per call, with its status and title.
    text = node.run("action", "list", "--chapter", "greenpark").stdout
    row = next(line for line in text.splitlines() if line.startswith(call_id + "\t"))
    fields = row.split("\t")
    assert "cancelled" in fields
    assert fields[-1] == "Canal clean-up (moved to Lock 8)"


def test_only_organisers_may_publish_edit_or_cancel(node):
    call_id = created_id(node, title="Organisers only")

    refused = {
        "create": create(
            node, "--start", START, "--end", END, title="Mo's call", as_name="mo", check=False
        ),
        "update": node.run(
            "action", "update", call_id, "--as", "mo", "--title", "Hijacked", check=False
        ),
        "cancel": node.run("action", "cancel", call_id, "--as", "mo", check=False),
    }
    for form, result in refused.items():
        assert result.returncode == 1, (form, result.stdout, result.stderr)
        assert result.stdout == "", (form, result.stdout)
        # The reason (the last line, not a frame of a traceback) mentions "organiser".
        assert "organiser" in last_line(result.stderr), (form, result.stderr)

    calls = listed(node)
    assert calls[call_id]["title"] == "Organisers only"
    assert calls[call_id]["status"] == "confirmed"
    assert not any(c["title"] == "Mo's call" for c in calls.values())


INVALID = [
    ("end", ("--start", START, "--end", "2027-04-12T09:00:00+01:00")),
    ("timezone", ("--start", START, "--end", END, "--timezone", "Mars/Olympus_Mons")),
    ("capacity", ("--start", START, "--end", END, "--capacity", "-1")),
    ("targets", ("--start", START, "--end", END, "--target", "participants:50")),
    ("start", ("--start", "2027-04-12T10:00:00", "--end", END)),
]


def test_invalid_input_is_refused_naming_the_field(node):
    problems = []
    for field, options in INVALID:
        result = create(node, *options, title="Never stored", check=False)
        reason = last_line(result.stderr)
        if result.returncode != 1 or result.stdout or not names_word(reason, field):
            problems.append((field, result.returncode, result.stdout, result.stderr[-500:]))

    # Updates are validated too, against the call's current times.
    call_id = created_id(node, title="Valid call")
    result = node.run(
        "action",
        "update",
        call_id,
        "--as",
        "olga",
        "--end",
        "2027-04-12T09:30:00+01:00",
        check=False,
    )
    if result.returncode != 1 or not names_word(last_line(result.stderr), "end"):
        problems.append(("update end", result.returncode, result.stdout, result.stderr[-500:]))
    assert not problems, problems

    calls = listed(node)
    assert not any(c["title"] == "Never stored" for c in calls.values())
    assert (calls[call_id]["start"], calls[call_id]["end"]) == (START, END)


def test_local_rsvp_accepts_leaves_and_waitlists_when_full(node):
    call_id = created_id(node, "--capacity", "1", title="One place only")

    joined = node.run("rsvp", call_id, "--as", "mo")
    assert joined.stdout.split()[:2] == [call_id, "accepted"]

    full = node.run("rsvp", call_id, "--as", "pat")
    assert full.stdout.split() == [call_id, "waitlisted", "position=1"]

    left = node.run("rsvp", call_id, "--leave", "--as", "mo")
    assert left.stdout.split()[:2] == [call_id, "left"]

    # The freed place went to pat, first on the waiting list; asking again says so.
    again = node.run("rsvp", call_id, "--as", "pat")
    assert again.stdout.split()[:2] == [call_id, "accepted"]
    call = listed(node)[call_id]
    assert (call["participant_count"], call["remaining"]) == (1, 0)


def test_feed_shows_the_calls_of_a_locally_followed_chapter(node):
    chapter_id = node.chapters["greenpark"]
    call_id = created_id(node, "--place", "Bandstand", title="Picnic for the feed")

    # pat belongs to greenpark, so follows it already (issue 15): after unfollowing, nobody.
    assert call_id in {item["id"] for item in node.json("feed", "--as", "pat")}
    node.run("unfollow", "--as", "pat", chapter_id)
    assert node.json("feed", "--as", "pat") == []  # pat follows nobody now

    # A local follow: the node recognises its own host, no server needed.
    followed = node.run("follow", "--as", "pat", f"acct:greenpark@{node.authority}")
    assert followed.stdout.split() == [chapter_id, "accepted"]

    items = node.json("feed", "--as", "pat")
    assert isinstance(items, list)
    by_id = {item["id"]: item for item in items}
    assert call_id in by_id
    assert len(by_id) == len(items)  # each call once
    assert all(item["chapter"] == chapter_id for item in items)
    assert by_id[call_id]["title"] == "Picnic for the feed"
    assert by_id[call_id]["place"]["name"] == "Bandstand"

    text = node.run("feed", "--as", "pat").stdout
    assert any(line.startswith(call_id + "\t") for line in text.splitlines())


def test_refusals_are_one_error_line_not_a_traceback(node):
    results = [
        create(node, "--start", START, "--end", END, title="x", as_name="mo", check=False),
        create(node, "--start", START, "--end", END, "--capacity", "0", title="x", check=False),
        node.run(
            "action",
            "update",
            f"{node.chapters['greenpark']}/actions/01NOSUCHCALL00000000000000",
            "--as",
            "olga",
            "--title",
            "y",
            check=False,
        ),
    ]
    for result in results:
        assert result.returncode == 1
        assert "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith("error: "), result.stderr
