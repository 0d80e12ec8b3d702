"""The campaign command line, exactly in its documented forms, on one local node.

A campaign and a chapter live on the same node, so no federation (and no server) is needed:
``chapterhouse`` works on the data directory directly. The whole story runs once per module
(create, join, adopt, report, correct, refuse, retract), with every command in a subprocess;
the tests then check what each step printed. ``rollup`` stays null throughout because no
server runs the rollup publisher.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.rig.cli_helpers import CliNode, init_node, last_line, names_word
from tests.rig.nodes import cli

START = "2026-11-14T10:00:00+00:00"  # past: impact is reported once a call has started
END = "2026-11-14T13:00:00+00:00"
TITLE = "Global litter pick"

Result = subprocess.CompletedProcess[str]


@dataclass
class Story:
    node: CliNode
    campaign_id: str
    chapter_id: str
    campaign_call: str
    local_call: str
    report_id: str
    steps: dict[str, Result] = field(default_factory=dict)

    def totals(self, step: str) -> Any:
        return json.loads(self.steps[step].stdout)  # exactly one JSON document


def one_line(result: Result) -> str:
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return lines[0]


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Story:
    node = init_node(tmp_path_factory.mktemp("cli-campaigns") / "n")
    steps: dict[str, Result] = {}

    def run(step: str, *args: str, check: bool = True) -> Result:
        steps[step] = node.run(*args, check=check)
        return steps[step]

    campaign_id = one_line(
        run("campaign", "campaign", "create", "climate", "--title", "Climate Day")
    )
    chapter_id = node.create_chapter("greenpark")
    node.add_member("cora", "climate", "organiser")
    node.add_member("olga", "greenpark", "organiser")
    node.add_member("mo", "greenpark", "member")
    run("follow", "follow", "--as", "greenpark", f"acct:climate@{node.authority}")
    campaign_call = one_line(
        run(
            "call",
            "action",
            "create",
            "--as",
            "cora",
            "--chapter",
            "climate",
            "--title",
            TITLE,
            "--start",
            START,
            "--end",
            END,
            "--target",
            "kg_litter=1000:kg",
        )
    )
    local_call = one_line(
        run("adopt", "action", "adopt", campaign_call, "--as", "olga", "--chapter", "greenpark")
    )
    run("list", "action", "list", "--chapter", "greenpark", "--json")
    report_id = one_line(
        run(
            "report",
            "report",
            "create",
            "--as",
            "olga",
            "--call",
            local_call,
            "--metric",
            "participants=42:people",
            "--metric",
            "kg_litter=120.5:kg",
            "--method",
            "counted",
            "--text",
            "42 of us cleared 120.5 kg from the river bank.",
        )
    )
    run("totals_reported", "totals", "climate", "--json")
    run(
        "update",
        "report",
        "update",
        report_id,
        "--as",
        "olga",
        "--replace",
        "--metric",
        "participants=50:people",
    )
    run("totals_updated", "totals", "climate", "--json")

    # Refusals, before the retraction: the totals after it show none of them counted.
    report = ("report", "create", "--call", local_call)
    run("not_organiser", *report, "--as", "mo", "--metric", "participants=3:people", check=False)
    run("negative", *report, "--as", "olga", "--metric", "participants=-1:people", check=False)
    run(
        "guessed",
        *report,
        "--as",
        "olga",
        "--metric",
        "participants=3:people",
        "--method",
        "guessed",
        check=False,
    )
    unknown = f"{chapter_id}/reports/01NOSUCHREPORT0000000000000"
    run(
        "unknown",
        "report",
        "update",
        unknown,
        "--as",
        "olga",
        "--metric",
        "participants=1:people",
        check=False,
    )
    run("chapter_totals", "totals", "greenpark", check=False)

    run("retract", "report", "retract", report_id, "--as", "olga")
    run("totals_retracted", "totals", "climate", "--json")
    run(
        "update_retracted",
        "report",
        "update",
        report_id,
        "--as",
        "olga",
        "--metric",
        "participants=9:people",
        check=False,
    )
    return Story(node, campaign_id, chapter_id, campaign_call, local_call, report_id, steps)


def test_campaign_and_chapter_print_their_ids_and_the_chapter_joins(story):
    base = story.node.base_url
    assert story.campaign_id.startswith(f"{base}/actors/")
    assert story.chapter_id.startswith(f"{base}/actors/")
    assert story.campaign_id != story.chapter_id
    # A local follow of a campaign is accepted at once (no server, no federation).
    assert one_line(story.steps["follow"]) == f"{story.campaign_id} accepted"


def test_adopting_the_campaign_call_makes_a_local_call_of_the_chapter(story):
    assert story.campaign_call.startswith(f"{story.campaign_id}/")
    assert story.local_call.startswith(f"{story.chapter_id}/")
    assert story.local_call != story.campaign_call
    calls = json.loads(story.steps["list"].stdout)
    assert [c["id"] for c in calls] == [story.local_call]
    (call,) = calls
    assert call["chapter"] == story.chapter_id
    assert call["local"] is True
    assert call["title"] == TITLE
    assert (call["start"], call["end"]) == (START, END)
    assert call["targets"] == [{"metric": "kg_litter", "unit": "kg", "target": 1000}]


def test_a_report_counts_into_the_campaign_totals(story):
    assert story.report_id.startswith(f"{story.chapter_id}/")
    assert story.totals("totals_reported") == {
        "campaign": story.campaign_id,
        "rollup": None,
        "chapterCount": 1,
        "totals": [
            {"metric": "kg_litter", "unit": "kg", "value": 120.5},
            {"metric": "participants", "unit": "people", "value": 42},
        ],
    }


def test_an_update_replaces_the_whole_metric_list(story):
    """The newest version counts: a ``--replace`` naming only participants drops kg_litter."""
    assert one_line(story.steps["update"]) == story.report_id
    summary = story.totals("totals_updated")
    totals = {(t["metric"], t["unit"]): t["value"] for t in summary.pop("totals")}
    assert summary == {"campaign": story.campaign_id, "rollup": None, "chapterCount": 1}
    assert totals.pop(("participants", "people")) == 50
    # kg_litter no longer contributes anything (the exact shape is pinned by the next test).
    assert totals in ({}, {("kg_litter", "kg"): 0})


def test_a_metric_no_report_carries_any_more_leaves_the_totals(story):
    assert story.totals("totals_updated") == {
        "campaign": story.campaign_id,
        "rollup": None,
        "chapterCount": 1,
        "totals": [{"metric": "participants", "unit": "people", "value": 50}],
    }


def test_a_retraction_takes_the_report_out_of_every_total(story):
    assert one_line(story.steps["retract"]) == f"{story.report_id} retracted"
    summary = story.totals("totals_retracted")
    totals = summary.pop("totals")
    assert summary == {"campaign": story.campaign_id, "rollup": None, "chapterCount": 0}
    # Nothing counts any more (and none of the refused reports counted): every total is zero.
    # Today the zero rows stay listed: [kg_litter 0 kg, participants 0 people].
    assert [t for t in totals if t["value"] != 0] == []
    assert {(t["metric"], t["unit"]) for t in totals} <= {
        ("kg_litter", "kg"),
        ("participants", "people"),
    }
    # A retracted report cannot be corrected.
    refused = story.steps["update_retracted"]
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert names_word(last_line(refused.stderr), "retracted"), refused.stderr


@pytest.mark.parametrize(
    ("step", "words"),
    [
        ("not_organiser", ["organiser", "mo"]),
        ("negative", ["participants", "negative"]),
        ("guessed", ["method", "counted", "estimated", "self_reported"]),
        ("unknown", ["report"]),
        ("chapter_totals", ["greenpark", "campaign"]),
    ],
)
def test_refusals_exit_1_and_say_why(story, step, words):
    result = story.steps[step]
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == "", result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    reason = last_line(result.stderr)
    assert reason.startswith("error: "), result.stderr
    for word in words:
        assert names_word(reason, word), f"{word!r} not named in {reason!r}"
    if step == "unknown":
        assert "01NOSUCHREPORT" in reason


def test_verify_of_an_unreachable_rollup_exits_3_with_the_reason():
    """Could not check is not wrong: exit 3, never 1 (a mismatch)."""
    url = "http://127.0.0.1:1/x"  # nothing listens on port 1
    result = cli("verify", url, "--allow-private-network", check=False)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    out = result.stdout + result.stderr
    assert url in out, out
    assert "failed" in out.lower() or "connect" in out.lower(), out
