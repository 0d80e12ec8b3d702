"""``chapterhouse action checkin`` and ``checkin-code`` on a real node's data directory: organisers
check participants in by name, handle or IRI, undo it, add walk-ins by name and as a count, and
``report create --from-attendance`` reports how many came (participants, counted).

Every command runs in a subprocess (the real command line), in one story per module; each test
checks the steps it is about.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from tests.rig.cli_helpers import CliNode, init_node, last_line

NOW = datetime.now(UTC).replace(microsecond=0)

Result = subprocess.CompletedProcess[str]


@dataclass
class Story:
    node: CliNode
    call: str
    empty_call: str
    steps: dict[str, Result] = field(default_factory=dict)

    def count(self, step: str) -> int:
        """The step's stdout: exactly one line, the count of people who came."""
        result = self.steps[step]
        assert result.returncode == 0, result.stdout + result.stderr
        assert re.fullmatch(r"\d+\n", result.stdout), result.stdout
        return int(result.stdout)


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Story:
    node = init_node(tmp_path_factory.mktemp("cli-checkin") / "n")
    node.create_chapter("greenpark")
    node.add_member("olga", "greenpark", "organiser")
    for name in ("mia", "max", "nia"):
        node.add_member(name, "greenpark", "member")

    def create(title: str) -> str:
        return node.run(
            "action", "create", "--as", "olga", "--chapter", "greenpark", "--title", title,
            "--start", (NOW - timedelta(hours=1)).isoformat(),
            "--end", (NOW + timedelta(hours=2)).isoformat(),
        ).stdout.strip()  # fmt: skip

    call, empty_call = create("Canal clean-up"), create("Towpath walk")
    for name in ("mia", "max"):
        assert node.run("rsvp", call, "--as", name).stdout.split()[-1] == "accepted"
    s = Story(node, call, empty_call)

    def run(step: str, *args: str) -> None:
        s.steps[step] = node.run(*args, check=False)

    checkin = ("action", "checkin", call)
    run("first", *checkin, "--as", "olga", "mia", f"@max@{node.authority}")
    run("again", *checkin, "--as", "olga", "mia")
    run("walk-ins", *checkin, "--as", "olga", "--walk-in", "Jo Bloggs", "--walk-ins", "3")
    run("undo", *checkin, "--as", "olga", "--undo", node.members["max"])
    run("too-few", *checkin, "--as", "olga", "--undo", "--walk-ins", "10")
    run("unknown", *checkin, "--as", "olga", "max", "nia")
    run("not-organiser", *checkin, "--as", "mia", "max")
    run("after-refusals", *checkin, "--as", "olga")
    run("undo-walk-in", *checkin, "--as", "olga", "--undo", "--walk-in", "Jo Bloggs")
    run("roster", "action", "participants", call, "--as", "olga", "--json")
    run("roster-member", "action", "participants", call, "--as", "nia")
    run("code", "action", "checkin-code", call, "--as", "olga")
    run("code-again", "action", "checkin-code", call, "--as", "olga")
    run("code-member", "action", "checkin-code", call, "--as", "nia")
    report = ("report", "create", "--call", call, "--as", "olga")
    run("both", *report, "--from-attendance", "--metric", "participants=9:people")
    run("report", *report, "--from-attendance", "--metric", "kg_litter=12:kg")
    run("no-attendance", "report", "create", "--call", empty_call, "--as", "olga",
        "--from-attendance")  # fmt: skip
    return s


def test_participants_are_checked_in_by_name_and_handle_and_the_count_printed(story):
    assert story.count("first") == 2
    assert "checked in: mia" in story.steps["first"].stderr
    assert "checked in: max" in story.steps["first"].stderr
    # Checking someone in again changes nothing and is no error.
    assert story.count("again") == 2
    assert "already checked in: mia" in story.steps["again"].stderr


def test_walk_ins_by_name_and_as_a_count_add_up_and_undo_takes_back(story):
    assert story.count("walk-ins") == 6  # mia, max, Jo Bloggs and three more
    assert "6 came: 2 checked in, 1 named walk-ins, 3 more walk-ins" in (
        story.steps["walk-ins"].stderr
    )
    assert story.count("undo") == 5  # max's check-in taken back (given by IRI)
    assert "check-in undone: max" in story.steps["undo"].stderr
    assert story.count("undo-walk-in") == 4


def test_refusals_exit_1_say_why_and_record_nothing(story):
    too_few = story.steps["too-few"]
    assert too_few.returncode == 1 and too_few.stdout == ""
    assert "fewer than 10 walk-ins" in last_line(too_few.stderr), too_few.stderr
    unknown = story.steps["unknown"]
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert "'nia' is not a participant" in last_line(unknown.stderr), unknown.stderr
    refused = story.steps["not-organiser"]
    assert refused.returncode == 1, refused.stderr
    assert "not an organiser" in last_line(refused.stderr), refused.stderr
    # Nothing of the refused commands was kept: max (named beside nia) is not checked in, and
    # the walk-ins were not taken below zero.
    assert story.count("after-refusals") == 5
    assert "5 came: 1 checked in, 1 named walk-ins, 3 more walk-ins" in (
        story.steps["after-refusals"].stderr
    )


def test_the_checkin_code_is_made_once_and_only_for_organisers(story):
    code = story.steps["code"]
    assert code.returncode == 0, code.stderr
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\n", code.stdout)
    assert story.steps["code-again"].stdout == code.stdout
    member = story.steps["code-member"]
    assert member.returncode == 1 and member.stdout == ""
    assert "not an organiser" in last_line(member.stderr)


def test_report_from_attendance_adds_participants_counted(story):
    report = story.steps["report"]
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith(f"{story.node.base_url}/actors/greenpark/reports/")
    both = story.steps["both"]
    assert both.returncode == 1 and "either with --metric or --from-attendance" in both.stderr
    nothing = story.steps["no-attendance"]
    assert nothing.returncode == 1 and nothing.stdout == ""
    assert "no attendance is recorded" in last_line(nothing.stderr)


def test_organisers_list_who_is_coming_and_who_came(story: Story) -> None:
    """``action participants --json``: everyone with their state and whether they came (mia
    checked in; max's check-in undone), for organisers only."""
    import json

    result = story.steps["roster"]
    assert result.returncode == 0, result.stderr
    roster = json.loads(result.stdout)
    people = {p["actor"]: p for g in roster["groups"] for p in g["people"]}
    mia, max_ = story.node.members["mia"], story.node.members["max"]
    assert set(people) == {mia, max_}
    assert people[mia]["came"] is True and people[max_]["came"] is False
    assert {p["state"] for p in people.values()} == {"accepted"}
    assert people[mia]["name"] == "mia" and people[mia]["handle"].startswith("@mia@")
    refused = story.steps["roster-member"]
    assert refused.returncode == 1 and refused.stdout == "", refused.stdout
