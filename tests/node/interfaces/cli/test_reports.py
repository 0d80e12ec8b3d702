"""One live report per call, idempotent adoption, and corrections as patches, on the command line.

A campaign and two chapters live on one node (no server runs), as in test_campaigns.py: every
command runs in a subprocess, once per module, and the tests check what each step printed and
how the campaign's totals moved.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.rig.cli_helpers import CliNode, init_node, last_line, names_word

# Under way: an action is reported on once it has started.
NOW = datetime.now(UTC).replace(microsecond=0)
START = (NOW - timedelta(hours=2)).isoformat()
END = (NOW + timedelta(hours=1)).isoformat()

Result = subprocess.CompletedProcess[str]
Totals = dict[tuple[str, str], Decimal]


@dataclass
class Story:
    node: CliNode
    campaign_call: str
    adopted: list[str]
    report_id: str
    steps: dict[str, Result] = field(default_factory=dict)

    def totals(self, step: str) -> Totals:
        """The campaign's non-zero totals after a step (a metric nobody reports may stay at 0)."""
        summary: Any = json.loads(self.steps[step].stdout)
        return {
            (t["metric"], t["unit"]): Decimal(str(t["value"]))
            for t in summary["totals"]
            if t["value"] != 0
        }


def one_line(result: Result) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout + result.stderr
    return lines[0]


def change(before: Totals, after: Totals) -> Totals:
    keys = before.keys() | after.keys()
    moved = {k: after.get(k, Decimal(0)) - before.get(k, Decimal(0)) for k in keys}
    return {k: v for k, v in moved.items() if v != 0}


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Story:
    node = init_node(tmp_path_factory.mktemp("cli-reports") / "n")
    steps: dict[str, Result] = {}

    def run(step: str, *args: str) -> Result:
        """Every step is kept, whatever its exit code: each test checks the steps it is about."""
        steps[step] = node.run(*args, check=False)
        return steps[step]

    node.run("campaign", "create", "climate", "--title", "Climate Day")
    node.create_chapter("greenpark")
    node.create_chapter("riverside")
    node.add_member("cora", "climate", "organiser")
    node.add_member("olga", "greenpark", "organiser")
    node.add_member("rita", "riverside", "organiser")
    for chapter in ("greenpark", "riverside"):
        node.run("follow", "--as", chapter, f"acct:climate@{node.authority}")
    campaign_call = one_line(
        node.run(
            "action",
            "create",
            "--as",
            "cora",
            "--chapter",
            "climate",
            "--title",
            "Global litter pick",
            "--start",
            START,
            "--end",
            END,
        )
    )
    adopt = ("action", "adopt", campaign_call, "--as", "olga", "--chapter", "greenpark")
    adopted = [one_line(run("adopt_1", *adopt)), one_line(run("adopt_2", *adopt))]
    run("list", "action", "list", "--chapter", "greenpark", "--json")
    riverside_call = one_line(
        node.run("action", "adopt", campaign_call, "--as", "rita", "--chapter", "riverside")
    )

    def report(step: str, as_name: str, call: str, *metrics: str) -> Result:
        options = [x for m in metrics for x in ("--metric", m)]
        return run(step, "report", "create", "--as", as_name, "--call", call, *options)

    def update(step: str, *options: str) -> Result:
        return run(step, "report", "update", report_id, "--as", "olga", *options)

    def totals(step: str) -> None:
        run(step, "totals", "climate", "--json")

    report_id = one_line(
        report(
            "report",
            "olga",
            adopted[0],
            "participants=42:people",
            "kg_litter=120.5:kg",
            "trees=3:trees",
        )
    )
    report("riverside", "rita", riverside_call, "participants=10:people", "kg_litter=5:kg")
    totals("totals_reported")
    report("second", "olga", adopted[0], "participants=99:people")
    totals("totals_after_second")

    update("one_metric", "--metric", "participants=50:people", "--method", "estimated")
    totals("totals_one_metric")
    update("add_metric", "--metric", "bags=7:bags")
    totals("totals_add_metric")
    update("remove", "--remove-metric", "trees:trees")
    totals("totals_removed")
    update("remove_absent", "--remove-metric", "trees:trees")
    update("replace", "--replace", "--metric", "participants=45:people")
    totals("totals_replaced")
    update("remove_last", "--remove-metric", "participants:people")
    update("replace_without_metric", "--replace")
    update(
        "replace_and_remove",
        "--replace",
        "--metric",
        "a=1:b",
        "--remove-metric",
        "x:y",
    )
    totals("totals_after_refusals")
    return Story(node, campaign_call, adopted, report_id, steps)


def test_adopting_a_call_twice_gives_the_same_local_call(story):
    first, second = story.adopted
    assert first == second
    assert first.startswith(story.node.chapters["greenpark"] + "/")
    # The same output as the first adoption: the id on stdout, the summary on stderr.
    assert story.steps["adopt_2"].stdout == story.steps["adopt_1"].stdout
    assert story.steps["adopt_2"].stderr == story.steps["adopt_1"].stderr
    calls = json.loads(story.steps["list"].stdout)
    assert [c["id"] for c in calls] == [first]


def test_a_second_report_on_the_same_call_is_refused_naming_the_first(story):
    refused = story.steps["second"]
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stdout == ""
    assert "Traceback" not in refused.stderr, refused.stderr
    reason = last_line(refused.stderr)
    assert reason.startswith("error: "), refused.stderr
    assert story.report_id in reason
    assert "report update" in reason
    # Nothing of it counted.
    assert story.totals("totals_after_second") == story.totals("totals_reported")


def test_a_one_metric_correction_keeps_the_others_and_moves_totals_by_the_difference(story):
    assert one_line(story.steps["one_metric"]) == story.report_id
    before, after = story.totals("totals_reported"), story.totals("totals_one_metric")
    assert before == {
        ("participants", "people"): Decimal(52),
        ("kg_litter", "kg"): Decimal("125.5"),
        ("trees", "trees"): Decimal(3),
    }
    assert change(before, after) == {("participants", "people"): Decimal(8)}
    # A metric the report did not carry is added, the rest kept.
    added = story.totals("totals_add_metric")
    assert change(after, added) == {("bags", "bags"): Decimal(7)}


def test_remove_metric_takes_out_one_metric_only(story):
    assert one_line(story.steps["remove"]) == story.report_id
    before, after = story.totals("totals_add_metric"), story.totals("totals_removed")
    assert change(before, after) == {("trees", "trees"): Decimal(-3)}


def test_replace_makes_the_given_metrics_the_whole_list(story):
    assert one_line(story.steps["replace"]) == story.report_id
    # greenpark now reports only participants=45; riverside's 10 people and 5 kg stay.
    assert story.totals("totals_replaced") == {
        ("participants", "people"): Decimal(55),
        ("kg_litter", "kg"): Decimal(5),
    }
    assert story.totals("totals_after_refusals") == story.totals("totals_replaced")


@pytest.mark.parametrize(
    ("step", "words"),
    [
        ("remove_absent", ["trees:trees", "remove"]),
        ("remove_last", ["metric", "retract"]),
        ("replace_without_metric", ["--replace", "--metric"]),
        ("replace_and_remove", ["--remove-metric", "--replace"]),
    ],
)
def test_refused_corrections_exit_1_and_say_why(story, step, words):
    result = story.steps[step]
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr, result.stderr
    reason = last_line(result.stderr)
    assert reason.startswith("error: "), result.stderr
    for word in words:
        assert word in reason if word.startswith("-") else names_word(reason, word), (
            word,
            reason,
        )
