"""`directory seed add`, `directory refresh` and `directory search` through the real command
line, on one node: the JSON contract, place names offline, and precise refusals."""

from __future__ import annotations

from tests.rig.cli_helpers import init_node


def test_search_json_contract_and_refusals(tmp_path):
    node = init_node(tmp_path / "n")
    node.run(
        "chapter", "create", "rhone", "--title", "Rhône Guardians",
        "--coordinates", "45.764,4.8357", "--place-name", "Lyon", "--topic", "rivers",
        "--language", "fr",
    )  # fmt: skip
    node.run(
        "chapter", "create", "spree", "--coordinates", "52.52,13.405", "--topic", "kayaks",
    )  # fmt: skip

    found = node.json("directory", "search", "--near", "Lyon, FR", "--radius", "30", "--json")
    assert found == {
        "results": [
            {
                "id": f"{node.base_url}/actors/rhone",
                "name": "rhone",
                "kind": "chapter",
                "distanceKm": found["results"][0]["distanceKm"],
                "place": {"name": "Lyon", "address": None, "latitude": 45.764, "longitude": 4.8357},
                "topics": ["rivers"],
                "languages": ["fr"],
                "title": "Rhône Guardians",
                "summary": None,
                "url": f"{node.base_url}/actors/rhone",
                "followers": 0,
                "local": True,
            }
        ]
    }
    assert found["results"][0]["distanceKm"] < 5
    by_text = node.json("directory", "search", "guardians", "--json")
    assert [r["name"] for r in by_text["results"]] == ["rhone"]
    by_topic = node.json("directory", "search", "--topic", "#kayaks", "--json")
    assert [r["name"] for r in by_topic["results"]] == ["spree"]
    plain = node.run("directory", "search", "--near", "52.5,13.4")
    assert plain.stdout.splitlines()[0].split("\t")[1:3] == ["chapter", "spree"]

    unknown = node.run("directory", "search", "--near", "Atlantisville", "--json", check=False)
    assert unknown.returncode == 1 and "--near: unknown place: 'Atlantisville'" in unknown.stderr
    assert unknown.stdout == ""
    bad_radius = node.run("directory", "search", "--radius", "10", check=False)
    assert bad_radius.returncode == 1 and "--radius" in bad_radius.stderr


def test_seeds_are_checked_and_refresh_reports_progress(tmp_path):
    node = init_node(tmp_path / "n")
    refused = node.run("directory", "seed", "add", "ftp://example.org", check=False)
    assert refused.returncode == 1 and "not a node's URL" in refused.stderr
    itself = node.run("directory", "seed", "add", node.base_url, check=False)
    assert itself.returncode == 1 and "is this node" in itself.stderr
    # A seed on loopback: unreachable here (the SSRF guard), which the refresh reports.
    assert node.run("directory", "seed", "add", "http://127.0.0.1:9/x").stdout.strip() == (
        "http://127.0.0.1:9"
    )
    refreshed = node.run("directory", "refresh")
    assert "reading 1 directories: http://127.0.0.1:9" in refreshed.stderr
    assert "0 read, 0 unchanged, 1 failed" in refreshed.stderr
