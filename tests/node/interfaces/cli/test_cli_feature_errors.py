"""A feature's refusal worded with data reaches the command line in the reader's language, the
data in it (issue 18, "Many languages"): an unknown chapter, bad ``--coordinates``, an unknown
place to search near. Before, these were English f-strings no catalogue could hold.

``main`` runs in this process, on a node initialised in a temporary directory."""

from __future__ import annotations

import contextlib

import pytest

from node.interfaces.cli import main as cli_main
from node.interfaces.cli.main import main
from node.runtime.i18n import Catalogues
from tests.rig.pseudo_locale import PSEUDO_AS, leftover_words, pseudo_catalogues

pytestmark = pytest.mark.usefixtures("no_language")


@pytest.fixture
def data(tmp_path, capsys) -> str:
    where = str(tmp_path / "n")
    assert (
        main(
            [
                "init",
                "--data",
                where,
                "--base-url",
                "http://127.0.0.1:9999",
                "--allow-private-network",
            ]
        )
        == 0
    )
    assert main(["chapter", "create", "greenpark", "--data", where]) == 0
    capsys.readouterr()
    return where


def _refusal(argv: list[str], capsys) -> tuple[int, str]:
    """The exit code and the last line said on stderr (argparse's usage comes before it)."""
    try:
        code = main(argv)
    except SystemExit as done:
        code = int(done.code or 0)
    return code, capsys.readouterr().err.strip().splitlines()[-1]


def test_an_unknown_chapter_and_bad_coordinates_are_refused_in_german(monkeypatch, capsys, data):
    monkeypatch.setenv("CHAPTERHOUSE_LANGUAGE", "de")
    de = Catalogues().translations("de", "messages")
    error = de.gettext("error: {reason}")
    assert error != "error: {reason}"

    code, said = _refusal(
        ["chapter", "update", "nosuch", "--data", data, "--place-name", "X"], capsys
    )
    reason = de.gettext("no chapter named {name!r} on this node")
    assert reason != "no chapter named {name!r} on this node"
    assert code == 1
    assert said == error.format(reason=reason.format(name="nosuch"))

    argv = ["chapter", "update", "greenpark", "--data", data, "--coordinates", "95,4.8"]
    code, said = _refusal(argv, capsys)
    outside = de.gettext("{value} is outside -90..90")
    assert code == 2 and outside != "{value} is outside -90..90"
    assert said.endswith(outside.format(value="95")), said
    assert "is outside" not in said

    argv = ["chapter", "update", "greenpark", "--data", data, "--coordinates", "north"]
    code, said = _refusal(argv, capsys)
    expected = de.gettext("expected LAT,LON, got {text!r}").format(text="north")
    assert code == 2 and said.endswith(expected), said

    code, said = _refusal(["directory", "search", "--data", data, "--near", "95,4"], capsys)
    place = de.gettext(
        "coordinates out of range: {text!r} (latitude -90..90, longitude -180..180)"
    ).format(text="95,4")
    assert code == 1 and said == error.format(
        reason=de.gettext("{option}: {message}").format(option="--near", message=place)
    ), said


def test_feature_refusals_say_nothing_outside_the_catalogue(monkeypatch, capsys, data, tmp_path):
    """In a pseudo-locale (every msgid marked ⟦…⟧) each refusal leaves no English outside the
    markers but the command's own words and the user's input."""
    words = pseudo_catalogues(tmp_path / "pseudo").translations(PSEUDO_AS, "messages")
    monkeypatch.setattr(cli_main, "words_for", lambda language: words)
    runs = [
        (["chapter", "update", "nosuch", "--data", data, "--place-name", "X"], ["'nosuch'"]),
        (["chapter", "update", "greenpark", "--data", data, "--coordinates", "95,4.8"], ["95"]),
        (["chapter", "update", "greenpark", "--data", data, "--coordinates", "qq"], ["'qq'"]),
        (["chapter", "update", "greenpark", "--data", data, "--radius-km", "wide"], ["'wide'"]),
        (["directory", "search", "--data", data, "--near", "95,4"], ["'95,4'"]),
        (["directory", "search", "--data", data, "--topic", "a b"], ["'a b'"]),
    ]
    names = {"chapterhouse", "chapter", "update", "coordinates", "radius_km", "near", "topics"}
    for argv, data_shown in runs:
        with contextlib.suppress(SystemExit):
            main(argv)
        refusal = capsys.readouterr().err.strip().splitlines()[-1]
        assert "⟦" in refusal, argv
        assert leftover_words(refusal, [*argv, *data_shown], names) == [], (argv, refusal)
