"""``chapter create|update`` with a place, an area, languages and topics, exactly in the
documented forms, each command in a subprocess on one data directory. A bad value is a usage
error (exit 2) naming the option, and nothing is stored."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.rig.cli_helpers import CliNode, init_node, last_line

COLUMNS = (
    "place_name",
    "address",
    "latitude",
    "longitude",
    "radius_km",
    "regions",
    "languages",
    "topics",
)


def stored(node: CliNode, name: str) -> dict[str, Any]:
    """The chapter's profile columns, read straight from the node's SQLite file."""
    db = Path(node.data_dir) / "chapterhouse.db"
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            f"SELECT {', '.join(COLUMNS)} FROM local_actors WHERE name = ?", (name,)
        ).fetchone()
    assert row is not None, name
    values = dict(zip(COLUMNS, row, strict=True))
    for key in ("regions", "languages", "topics"):
        values[key] = json.loads(values[key]) if values[key] else None
    return values


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> CliNode:
    node = init_node(tmp_path_factory.mktemp("cli-chapter-profile") / "n")
    if not (node.data_dir / "chapterhouse.db").exists():
        pytest.skip("this configuration does not store in SQLite")
    return node


def test_create_with_the_documented_options(node: CliNode):
    result = node.run(
        "chapter",
        "create",
        "riverside",
        "--coordinates",
        "45.75,4.85",
        "--place-name",
        "Riverside hall",
        "--address",
        "10 Rue Jangot, Lyon",
        "--radius-km",
        "25",
        "--topic",
        "#Climate",
        "housing",
        "--language",
        "fr",
        "--language",
        "en",
        "--region",
        "Rhône",
    )
    assert result.stdout.strip().endswith("/actors/riverside")
    assert stored(node, "riverside") == {
        "place_name": "Riverside hall",
        "address": "10 Rue Jangot, Lyon",
        "latitude": 45.75,
        "longitude": 4.85,
        "radius_km": 25.0,
        "regions": ["Rhône"],
        "languages": ["fr", "en"],
        "topics": ["climate", "housing"],
    }


def test_update_changes_only_what_is_given_and_clears_with_empty(node: CliNode):
    node.run("chapter", "create", "hillside", "--coordinates=-33.87,151.21", "--topic", "a")
    result = node.run("chapter", "update", "hillside", "--topic", "b", "c", "--place-name", "Hut")
    assert "topics #b #c" in result.stderr
    after = stored(node, "hillside")
    assert after["topics"] == ["b", "c"] and after["latitude"] == -33.87
    assert after["place_name"] == "Hut"
    node.run("chapter", "update", "hillside", "--coordinates", "", "--topic")
    cleared = stored(node, "hillside")
    assert cleared["latitude"] is None and cleared["longitude"] is None
    assert cleared["topics"] is None and cleared["place_name"] == "Hut"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--coordinates", "95,4"), "argument --coordinates: latitude"),
        (("--coordinates", "45.7"), "argument --coordinates: coordinates: expected LAT,LON"),
        (("--radius-km", "-1"), "argument --radius-km: radius_km"),
        (("--radius-km", "far"), "argument --radius-km: radius_km"),
        (("--topic", "two words"), "argument --topic: topics"),
        (("--language", "english!"), "argument --language: languages"),
        (("--place-name", "x" * 201), "argument --place-name: place_name"),
    ],
)
def test_bad_values_are_usage_errors_and_store_nothing(
    node: CliNode, args: tuple[str, ...], words: str
):
    node.run("chapter", "create", "badlands", check=False)
    before = stored(node, "badlands")
    result = node.run("chapter", "update", "badlands", "--topic", "ok", *args, check=False)
    assert result.returncode == 2, result.stderr
    assert words in last_line(result.stderr), result.stderr
    assert stored(node, "badlands") == before


def test_create_with_a_bad_value_creates_nothing(node: CliNode):
    result = node.run("chapter", "create", "nowhere", "--coordinates", "0,200", check=False)
    assert result.returncode == 2
    assert "argument --coordinates: longitude" in last_line(result.stderr), result.stderr
    db = Path(node.data_dir) / "chapterhouse.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT 1 FROM local_actors WHERE name='nowhere'").fetchone() is None
