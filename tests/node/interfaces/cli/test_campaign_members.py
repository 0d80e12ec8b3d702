"""`campaign create --approve-chapters`, `campaign members`, `campaign approve`, and
`campaign exclude|include`, on one node through the real command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.rig.cli_helpers import init_node

NOW = datetime.now(UTC).replace(microsecond=0)
START = (NOW - timedelta(hours=2)).isoformat()  # under way: reports are taken
END = (NOW + timedelta(hours=1)).isoformat()


def _totals(node) -> dict:
    summary = json.loads(node.run("totals", "climate", "--json").stdout)
    return {(t["metric"], t["unit"]): t["value"] for t in summary["totals"] if t["value"]}


def _members(node) -> dict[str, str]:
    found = json.loads(node.run("campaign", "members", "climate", "--json").stdout)
    return {m["chapter"]: m["state"] for m in found["members"]}


def test_members_wait_for_approval_and_exclusions_come_and_go(tmp_path):
    node = init_node(tmp_path / "n")
    node.run("campaign", "create", "climate", "--approve-chapters")
    node.add_member("cora", "climate", "organiser")
    for chapter, organiser in (("greenpark", "olga"), ("riverside", "rita")):
        node.create_chapter(chapter)
        node.add_member(organiser, chapter, "organiser")
        node.run("follow", "--as", chapter, f"acct:climate@{node.authority}")
    greenpark = f"{node.base_url}/actors/greenpark"
    riverside = f"{node.base_url}/actors/riverside"
    assert _members(node) == {greenpark: "pending", riverside: "pending"}

    call = node.run(
        "action", "create", "--as", "cora", "--chapter", "climate",
        "--title", "Litter pick", "--start", START, "--end", END,
    ).stdout.strip()  # fmt: skip
    local = {
        name: node.run("action", "adopt", call, "--as", organiser, "--chapter", name).stdout.strip()
        for name, organiser in (("greenpark", "olga"), ("riverside", "rita"))
    }
    reports = {
        "greenpark": node.run("report", "create", "--as", "olga", "--call", local["greenpark"],
                              "--metric", "participants=7:people").stdout.splitlines()[0],
        "riverside": node.run("report", "create", "--as", "rita", "--call", local["riverside"],
                              "--metric", "participants=5:persons").stdout.splitlines()[0],
    }  # fmt: skip
    assert _totals(node) == {}  # pending chapters are not members yet

    refused = node.run("campaign", "approve", "climate", greenpark, "--as", "olga", check=False)
    assert refused.returncode == 1 and "organis" in refused.stderr, refused.stderr
    for chapter in (greenpark, riverside):
        node.run("campaign", "approve", "climate", chapter, "--as", "cora")
    assert _members(node) == {greenpark: "accepted", riverside: "accepted"}

    # Reports filed while pending are not counted after the fact; a correction counts them.
    node.run("report", "update", reports["greenpark"], "--as", "olga",
             "--metric", "participants=8:people")  # fmt: skip
    node.run("report", "update", reports["riverside"], "--as", "rita",
             "--metric", "participants=5:persons")  # fmt: skip
    assert _totals(node) == {("participants", "people"): 13}

    no_reason = node.run("campaign", "exclude", "climate", riverside, "--as", "cora", check=False)
    assert no_reason.returncode == 1 and "reason" in no_reason.stderr, no_reason.stderr
    node.run("campaign", "exclude", "climate", riverside, "--as", "cora", "--reason", "test run")
    assert _totals(node) == {("participants", "people"): 8}
    assert _members(node)[riverside] == "excluded"
    node.run("campaign", "include", "climate", riverside, "--as", "cora")
    assert _totals(node) == {("participants", "people"): 13}
    again = node.run("campaign", "include", "climate", riverside, "--as", "cora", check=False)
    assert again.returncode == 1, again.stdout
