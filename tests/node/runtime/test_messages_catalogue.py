"""The ``messages`` catalogue (e-mails and the command line) is complete in every shipped
language, in step with the code, and nothing the code says escapes it.

- every msgid of ``messages.pot`` is translated in es, fr and de: no empty or fuzzy entry,
  every plural form given, the same placeholders as the English;
- the template holds what the code marks now (``make messages`` was run);
- rendered in a pseudo-locale (every msgid marked ``⟦…⟧``), each notification kind and every
  command's ``--help`` leave no English word outside the markers but data and names;
- the command bodies pass no bare English to ``err``/``out``/errors (a source check).
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

from node.features.notifications.kinds import Kind
from node.features.notifications.wording import Speech, describe, when
from node.interfaces.cli import words as cli_words
from node.interfaces.cli.main import build_parser
from node.interfaces.cli.words import argparse_words
from node.runtime.i18n import LOCALE_DIR, SHIPPED, SOURCE
from tests.rig.catalogues import catalogue_problems, unlisted
from tests.rig.nodes import REPO
from tests.rig.pseudo_locale import PSEUDO_AS, leftover_words, pseudo_catalogues

TRANSLATED = [language for language in SHIPPED if language != SOURCE]
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\([a-z_]+\)[sdr]|%[sdr]")


def test_the_cli_knows_the_shipped_languages():
    assert cli_words.SHIPPED == SHIPPED


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(language):
    problems = catalogue_problems("messages", language, PLACEHOLDER)
    assert not problems, "\n".join(problems)


def test_the_template_holds_what_the_code_marks():
    """``make messages`` extracts with ``babel-messages.cfg``; a string marked since is missing
    from every catalogue until it is run again."""
    missing = unlisted("messages")
    assert not missing, f"run `make messages` and translate the new entries: {missing}"


# A notification's facts with no English in them, so whatever English is left came from code.
FACTS = {
    "title": "Zqx",
    "url": "https://node.example/actions/1",
    "start": "2027-04-12T08:00:00+00:00",
    "end": "2027-04-12T10:30:00+00:00",
    "timezone": "Europe/Paris",
    "place": "Qwv",
    "chapter": "Vbn",
    "who": "@kpl@node.example",
    "reason": "Jkq",
    "slot": "Wxz",
    "position": 3,
    "offset_minutes": 120,
}


@pytest.mark.parametrize("kind", [*Kind, "chapter_moved"])
def test_every_notification_kind_is_worded_by_the_catalogue(kind, tmp_path):
    catalogues = pseudo_catalogues(tmp_path)
    speech = Speech(PSEUDO_AS, catalogues.translations(PSEUDO_AS, "messages"))
    variants = [dict(FACTS), {**FACTS, "title": None, "place": None, "offset_minutes": 0}]
    if kind == Kind.VOTE_COUNTED:
        variants += [{**FACTS, "declined": "noted"}, {**FACTS, "declined": "gave_up"}]
    if kind == "chapter_moved":
        variants = [{**FACTS, "old": "https://a.example/x", "new": "https://b.example/x"}]
    for data in variants:
        words = describe(kind, data, speech)
        data_strings = [str(v) for v in data.values() if v] + [when(data, PSEUDO_AS)]
        for text in (words.subject, words.text):
            assert leftover_words(text, data_strings) == [], (kind, text)


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += _parsers(child)
    return found


def _names(parser: argparse.ArgumentParser) -> set[str]:
    """What a help page may show as itself: commands, options, metavars, choices."""
    names = set(parser.prog.split())
    for action in parser._actions:
        for text in [*action.option_strings, action.dest or "", (action.dest or "").upper()]:
            names.update(re.findall(r"[A-Za-z][A-Za-z']+", text))
        metavar = action.metavar
        for text in metavar if isinstance(metavar, tuple) else [metavar or ""]:
            names.update(re.findall(r"[A-Za-z][A-Za-z']+", str(text)))
        for choice in action.choices or ():
            names.update(re.findall(r"[A-Za-z][A-Za-z']+", str(choice)))
    return names


def test_every_help_page_is_worded_by_the_catalogue(tmp_path):
    words = pseudo_catalogues(tmp_path).translations(PSEUDO_AS, "messages")
    problems = {}
    with argparse_words(words):
        parsers = _parsers(build_parser(words))
        allowed = set().union(*(_names(p) for p in parsers))
        for parser in parsers:
            left = leftover_words(parser.format_help(), allowed=allowed)
            if left:
                problems[parser.prog] = sorted(set(left))
    assert len(parsers) > 40
    assert not problems, problems


#: The calls that speak to the reader in a command's body.
SPEAKING = {"err", "out", "CommandError", "NotFoundError", "ArgumentTypeError", "error"}


def _bare_english(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(
            part.value
            for part in node.values
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
        )
    else:
        return None
    return text if re.search(r"[A-Za-z]{3,}", text) else None


def test_command_bodies_say_nothing_outside_the_catalogue():
    """Results that scripts read (ids, ``token:``, tab-separated rows, ``X rotated``) may stay
    as they are only when they are no sentence: a word of English in a literal passed to
    ``err``, ``out`` or an error is a string nobody can translate."""
    exempt = {  # the result lines the CLI contract fixes (scripts and the test rig read them)
        "admin token: ",
        "token: ",
        "serving ",
        "worker running for ",
        " rotated",
        " blocked",
        " unblocked",
        " retracted",
        "flag ",
        " resolved by ",
        " sent",
        " chapters",
        " email=",
        "\tactor\t",
        "acct:",
        " reports check out",  # `verify`'s verdict lines, which auditors' scripts read
        "- wrong: ",
        "- not checked: ",
        "- excluded: ",
    }
    found = []
    for path in sorted((REPO / "node" / "interfaces" / "cli").rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in SPEAKING:
                continue
            text = _bare_english(node.args[0])
            if text is None:
                continue
            if name == "out" and any(e in text for e in exempt):
                continue
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: {text!r}")
    assert not found, "\n".join(found)


def test_placeholders_are_checked_in_a_sample():
    """The placeholder check itself: ``{count}`` and ``%(prog)s`` are seen."""
    assert PLACEHOLDER.findall("%(prog)s: {count} %s") == ["%(prog)s", "{count}", "%s"]
    assert Path(LOCALE_DIR / "messages.pot").is_file()
