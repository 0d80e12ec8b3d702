"""The command line speaks the reader's language: ``CHAPTERHOUSE_LANGUAGE``, then the POSIX
locale, then the node's ``default_language``; help, argparse's own words and our errors are
translated, and ``--json`` stays exactly what scripts read.

``main`` runs in this process (a subprocess costs far more); the environment is set per test."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from node.interfaces.cli.main import main
from node.interfaces.cli.words import language_for

pytestmark = pytest.mark.usefixtures("no_language")


def _node_with_default(tmp_path: Path, language: str) -> Path:
    data = tmp_path / "n"
    data.mkdir()
    (data / "chapterhouse.toml").write_text(
        f'base_url = "http://127.0.0.1:9999"\ndefault_language = "{language}"\n', "utf-8"
    )
    return data


def test_the_language_is_chosen_in_order(tmp_path):
    data = _node_with_default(tmp_path, "fr")
    argv = ["member", "add", "x", "--data", str(data)]
    assert language_for(argv, {}) == "fr"  # the node's default
    assert language_for([*argv[:3], f"--data={data}"], {}) == "fr"
    assert language_for(["--help"], {}) == "en"  # no node, no locale
    assert language_for(argv, {"LANG": "C.UTF-8"}) == "fr"  # "C" is no language
    assert language_for(argv, {"LANG": "es_ES.UTF-8"}) == "es"
    assert language_for(argv, {"LANG": "es_ES.UTF-8", "LC_ALL": "de_DE.UTF-8"}) == "de"
    assert language_for(argv, {"LC_MESSAGES": "de_AT@euro", "LANG": "es_ES"}) == "de"
    assert language_for(argv, {"CHAPTERHOUSE_LANGUAGE": "es", "LC_ALL": "de_DE.UTF-8"}) == "es"
    assert language_for(argv, {"CHAPTERHOUSE_LANGUAGE": "ja", "LANG": "ja_JP"}) == "fr"


def test_help_and_errors_in_german(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("CHAPTERHOUSE_LANGUAGE", "de")
    with pytest.raises(SystemExit) as done:
        main(["member", "add", "--help"])
    assert done.value.code == 0
    page = capsys.readouterr().out
    assert page.startswith("Aufruf: chapterhouse member add")
    assert "diese Hilfe anzeigen und beenden" in page
    assert "das Datenverzeichnis des Knotens" in page
    assert "the node's data directory" not in page

    with pytest.raises(SystemExit) as done:
        main(["member", "add"])  # argparse's own refusal
    assert done.value.code == 2
    said = capsys.readouterr().err
    assert "chapterhouse member add: Fehler: folgende Argumente sind erforderlich: name" in said

    assert main(["purge", "--data", str(tmp_path / "nothing")]) == 1  # our refusal
    said = capsys.readouterr().err
    assert said.startswith("Fehler: ") and "ist kein Chapterhouse-Datenverzeichnis" in said


def test_a_posix_locale_and_the_nodes_default_are_heard(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    with pytest.raises(SystemExit):
        main(["--help"])
    assert capsys.readouterr().out.startswith("utilisation : chapterhouse")
    monkeypatch.setenv("LANG", "C.UTF-8")
    data = _node_with_default(tmp_path, "es")
    with pytest.raises(SystemExit):
        main(["deliveries", "--data", str(data), "--limit", "0"])
    assert "se esperaba un número entero positivo" in capsys.readouterr().err


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_is_the_same_in_every_language(monkeypatch, capsys, tmp_path):
    data = str(tmp_path / "n")
    code, out, _ = _run(
        ["init", "--data", data, "--base-url", "http://127.0.0.1:9999", "--allow-private-network"],
        capsys,
    )
    assert code == 0 and "admin token: chp_" in out
    assert _run(["chapter", "create", "greenpark", "--data", data], capsys)[0] == 0
    assert _run(["member", "add", "ada", "--data", data, "--chapter", "greenpark"], capsys)[0] == 0
    assert _run(["block", "domain", "spam.example", "--data", data], capsys)[0] == 0
    commands = [
        ["block", "list", "--data", data, "--json"],
        ["notifications", "--as", "ada", "--data", data, "--json"],
        ["following", "--as", "ada", "--data", data, "--json"],
    ]
    english = [_run(argv, capsys)[1] for argv in commands]
    monkeypatch.setenv("CHAPTERHOUSE_LANGUAGE", "de")
    german = [_run(argv, capsys)[1] for argv in commands]
    assert german == english
    assert json.loads(english[0])["domains"][0]["domain"] == "spam.example"

    # Without --json the note for the human is German; the result line is not touched.
    code, out, err = _run(["notifications", "--as", "ada", "--data", data], capsys)
    assert code == 0 and out == "" and err.strip() == "keine Benachrichtigungen"


def test_a_members_language_is_set_from_the_command_line(monkeypatch, capsys, tmp_path):
    """``member update --language``: what their e-mails and pages are written in."""
    data = str(tmp_path / "n")
    main(["init", "--data", data, "--base-url", "http://127.0.0.1:9999", "--allow-private-network"])
    main(["member", "add", "ada", "--data", data])
    capsys.readouterr()
    assert _run(["member", "update", "ada", "--data", data, "--language", "fr-CA"], capsys)[1] == (
        "ada email=- reminders=on language=fr\n"
    )
    code, _, err = _run(["member", "update", "ada", "--data", data, "--language", "xx"], capsys)
    assert code == 1 and "xx" in err
    # A refusal worded by a feature (its template marked) is translated too.
    monkeypatch.setenv("CHAPTERHOUSE_LANGUAGE", "fr")
    code, _, err = _run(["member", "update", "ada", "--data", data, "--email", "a b"], capsys)
    assert code == 1
    assert err == (
        "erreur : 'a b' n’est pas une adresse électronique (donnez seulement local@domaine)\n"
    )
    assert _run(["member", "update", "ada", "--data", data, "--language", ""], capsys)[1] == (
        "ada email=- reminders=on language=-\n"
    )


def test_common_errors_say_nothing_outside_the_catalogue(monkeypatch, capsys, tmp_path):
    """With a pseudo-locale (every msgid marked ⟦…⟧), argparse's refusals and ours leave no
    English outside the markers but the command's own names and the user's input."""
    from node.interfaces.cli import main as cli_main
    from tests.rig.pseudo_locale import PSEUDO_AS, leftover_words, pseudo_catalogues

    words = pseudo_catalogues(tmp_path).translations(PSEUDO_AS, "messages")
    monkeypatch.setattr(cli_main, "words_for", lambda language: words)
    nothing = str(tmp_path / "nothing")
    runs = [
        ["member", "add"],
        ["member", "add", "x", "--data", nothing, "--role", "king"],
        ["frobnicate"],
        ["deliveries", "--data", nothing, "--limit", "0"],
        ["deliveries", "retry", "--data", nothing],
        ["deliveries", "retry", "--state", "dead", "--data", nothing, "--all-dead"],
        ["purge", "--data", nothing, "--older-than-days", "soon"],
        ["member", "add", "x", "--data", nothing],
    ]
    names = {"chapterhouse", "member", "add", "deliveries", "retry", "purge", "name", "data"}
    for argv in runs:
        with contextlib.suppress(SystemExit):
            main(argv)
        said = capsys.readouterr().err
        refusal = said.strip().splitlines()[-1]  # the usage above it is the help pages' test
        assert "⟦" in refusal, argv
        assert leftover_words(refusal, argv, names) == [], (argv, said)


def test_a_time_in_a_refusal_is_written_in_the_runs_language_in_the_calls_zone():
    from datetime import UTC, datetime

    from node.interfaces.cli.main import words_for
    from node.interfaces.cli.words import speaking, written
    from protocol.errors import N_, WordedError
    from protocol.localtime import Moment

    opens = Moment(datetime(2027, 7, 12, 9, 30, tzinfo=UTC), "Europe/Paris")
    error = WordedError(N_("check-in opens at {opens}, 30 minutes before the start"), opens=opens)
    with speaking("de", words_for("de")):
        shown = error.spoken(words_for("de").gettext, written)
    assert "11:30" in shown and "(Europe/Paris)" in shown and "check-in opens" not in shown
    assert "Mon 12 Jul" not in shown and "2027-07-12T" not in shown
    assert str(error) == (
        "check-in opens at Mon 12 Jul 2027 11:30 (Europe/Paris), 30 minutes before the start"
    )
