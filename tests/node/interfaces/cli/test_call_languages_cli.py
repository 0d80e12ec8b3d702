"""``action create|update --language L --title-in LANG TEXT --description-in LANG TEXT``: a
call's language (default: the chapter's first, else the node's) and its translations, each
command in a subprocess. A bad tag is refused (exit 1) naming the field, and nothing is made."""

from __future__ import annotations

import pytest

from tests.rig.cli_helpers import CliNode, init_node, last_line

TIMES = ("--start", "2027-04-12T10:00:00+01:00", "--end", "2027-04-12T12:00:00+01:00")


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> CliNode:
    n = init_node(tmp_path_factory.mktemp("cli-call-languages") / "n")
    n.run("chapter", "create", "greenpark", "--language", "de", "en")
    n.run("chapter", "create", "plain")
    n.add_member("olga", "greenpark", "organiser")
    n.add_member("omar", "plain", "organiser")
    return n


def create(node: CliNode, chapter: str, who: str, *options: str, check: bool = True):
    return node.run(
        "action", "create", "--chapter", chapter, "--as", who, *TIMES, *options, check=check
    )


def listed(node: CliNode, chapter: str) -> dict[str, dict]:
    return {c["title"]: c for c in node.json("action", "list", "--chapter", chapter)}


def test_language_and_translations(node: CliNode):
    create(
        node,
        "greenpark",
        "olga",
        "--title",
        "Towpath clean-up",
        "--description",
        "Bring gloves.",
        "--language",
        "en-gb",
        "--title-in",
        "fr",
        "Nettoyage",
        "--title-in",
        "de",
        "Aufräumen",
        "--description-in",
        "fr",
        "Apportez des gants.",
    )
    call = listed(node, "greenpark")["Towpath clean-up"]
    assert call["language"] == "en-GB"
    assert call["titleMap"] == {"fr": "Nettoyage", "de": "Aufräumen"}
    assert call["descriptionMap"] == {"fr": "Apportez des gants."}

    node.run("action", "update", call["id"], "--as", "olga", "--title-in", "es", "Limpieza")
    after = listed(node, "greenpark")["Towpath clean-up"]
    assert after["titleMap"] == {"es": "Limpieza"}  # replaces the whole map
    assert after["descriptionMap"] == {"fr": "Apportez des gants."}
    node.run("action", "update", call["id"], "--as", "olga", "--clear", "title-in")
    assert listed(node, "greenpark")["Towpath clean-up"]["titleMap"] == {}


def test_default_language_is_the_chapters_first_else_the_nodes(node: CliNode):
    create(node, "greenpark", "olga", "--title", "Chapter default")
    assert listed(node, "greenpark")["Chapter default"]["language"] == "de"
    create(node, "plain", "omar", "--title", "Node default")
    assert listed(node, "plain")["Node default"]["language"] == "en"


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (("--language", "english!"), "language"),
        (("--title-in", "xx--y", "Titre"), "titleMap"),
        (("--title-in", "fr", "A", "--title-in", "fr", "B"), "--title-in"),
        (("--description-in", "fr", " "), "descriptionMap.fr"),
    ],
)
def test_bad_languages_are_refused_and_nothing_is_made(
    node: CliNode, options: tuple[str, ...], words: str
):
    result = create(node, "plain", "omar", "--title", "Refused", *options, check=False)
    assert result.returncode == 1, result.stderr
    assert words in last_line(result.stderr), result.stderr
    assert "Refused" not in listed(node, "plain")
