"""The command line's words in the reader's language: the ``messages`` gettext domain.

Which language: ``CHAPTERHOUSE_LANGUAGE``, then the POSIX locale (``LC_ALL``, ``LC_MESSAGES``,
``LANG``, e.g. ``de_DE.UTF-8``), then the node's ``default_language`` when ``--data`` names a
node, else English (``language_for``). Only a shipped language is chosen.

How the words reach the reader, without a module holding a language:

- the parser's texts (``help=``, ``description=``) are marked with ``N_`` where the parser is
  built, which stays cheap and standard-library only (``args.py``); they are translated when
  shown, by the formatter ``localise`` gives every parser of one run;
- argparse's own words ("usage:", "error:", "the following arguments are required") come from
  the standard ``gettext`` functions argparse imported; ``argparse_words`` points them at this
  run's catalogue for the length of the run and puts them back after (the catalogue holds them,
  extracted from ``argparse_msgids.py``);
- a command's messages call ``_``/``ngettext`` here, which read this run's catalogue from a
  context variable that ``main`` sets around the run (``speaking``) and resets after.

``--json`` output is never translated: it is for scripts.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gettext as stdlib_gettext
import os
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Protocol

#: The setting read from ``--data DIR``'s config (``node.runtime.config``), spelled out so that
#: choosing the language imports nothing heavy.
CONFIG_FILE = "chapterhouse.toml"
ENV_LANGUAGE = "CHAPTERHOUSE_LANGUAGE"
POSIX_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")
SHIPPED = ("en", "es", "fr", "de")  # node.runtime.i18n.SHIPPED (a test checks they agree)


class Translations(Protocol):
    def gettext(self, message: str, /) -> str: ...
    def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...


ENGLISH: Translations = stdlib_gettext.NullTranslations()

_SPEAKING: ContextVar[tuple[str, Translations] | None] = ContextVar(
    "chapterhouse_cli_words", default=None
)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it yet (translated when shown)."""
    return message


def _(message: str) -> str:
    """``message`` in this run's language."""
    speaking = _SPEAKING.get()
    return message if speaking is None else speaking[1].gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n`` in this run's language."""
    speaking = _SPEAKING.get()
    if speaking is None:
        return singular if n == 1 else plural
    return speaking[1].ngettext(singular, plural, n)


def language() -> str:
    """This run's language code (``en`` outside a run)."""
    speaking = _SPEAKING.get()
    return "en" if speaking is None else speaking[0]


def translations() -> Translations:
    """This run's catalogue (for code that takes one, e.g. a notification's words)."""
    speaking = _SPEAKING.get()
    return ENGLISH if speaking is None else speaking[1]


def number(value: int | float) -> str:
    """``value`` written this run's language's way (``15.000`` in German)."""
    from babel.numbers import format_decimal  # here: choosing the language stays light

    return format_decimal(value, locale=language())


def written(value: object) -> object:
    """A param of a feature's message this run's language's way: numbers in its digits and
    separators, a time (``protocol.localtime.Moment``) in the call's zone in its patterns."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return number(value)
    from protocol.localtime import Moment, in_zone, zone_label  # here: choosing stays light

    if not isinstance(value, Moment) or language() == "en":
        return str(value) if isinstance(value, Moment) else value
    from babel.dates import format_skeleton, format_time

    shown = in_zone(value.instant, value.zone)
    day = format_skeleton("yMMMEd", shown, locale=language())
    clock = format_time(shown, "short", locale=language())
    return f"{day} {clock} ({zone_label(value.instant, value.zone)})"


@contextlib.contextmanager
def speaking(code: str, words: Translations) -> Iterator[None]:
    """Commands run inside this speak ``words``, language ``code`` (asyncio tasks started
    inside it too: they copy the context)."""
    token = _SPEAKING.set((code, words))
    try:
        yield
    finally:
        _SPEAKING.reset(token)


def _shipped(tag: str | None) -> str | None:
    if not tag:
        return None
    primary = re.split(r"[-_.@]", tag.strip(), maxsplit=1)[0].lower()
    return primary if primary in SHIPPED else None


def _data_dir(argv: Sequence[str]) -> str | None:
    for index, word in enumerate(argv):
        if word == "--data" and index + 1 < len(argv):
            return argv[index + 1]
        if word.startswith("--data="):
            return word.partition("=")[2]
    return None


def _node_default(data: str | None, env: Mapping[str, str]) -> str | None:
    """The node's ``default_language`` (its environment override, then its config file)."""
    from_env = env.get("CHAPTERHOUSE_DEFAULT_LANGUAGE")
    if from_env:
        return from_env
    if data is None:
        return None
    try:
        config = tomllib.loads((Path(data) / CONFIG_FILE).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None  # the command itself reports a missing or broken data directory
    value = config.get("default_language")
    return value if isinstance(value, str) else None


def language_for(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """The language a run of ``chapterhouse argv`` speaks (see the module)."""
    env = os.environ if env is None else env
    for variable in (ENV_LANGUAGE, *POSIX_VARIABLES):
        chosen = _shipped(env.get(variable))
        if chosen is not None:  # "C", "POSIX" or an unshipped language: look further
            return chosen
    return _shipped(_node_default(_data_dir(argv), env)) or "en"


class LocalFormatter(argparse.HelpFormatter):
    """Help text in the run's language: our texts were marked (``N_``), not translated."""

    def __init__(self, prog: str, *, words: Translations, **kwargs: Any) -> None:
        super().__init__(prog, **kwargs)
        self._words = words

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        return self._words.gettext(text) if text else text

    def add_text(self, text: str | None) -> None:
        if text and text is not argparse.SUPPRESS:
            text = self._words.gettext(text)
        super().add_text(text)

    def start_section(self, heading: str | None) -> None:
        super().start_section(self._words.gettext(heading) if heading else heading)


def localise(parser: argparse.ArgumentParser, words: Translations) -> None:
    """Give ``parser`` and every parser under it the formatter that speaks ``words``."""
    parser.formatter_class = functools.partial(LocalFormatter, words=words)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                localise(child, words)


@contextlib.contextmanager
def argparse_words(words: Translations) -> Iterator[None]:
    """argparse's own words from ``words`` while the run builds and parses (see the module)."""
    before = (argparse._, argparse.ngettext)  # type: ignore[attr-defined]
    argparse._ = words.gettext  # type: ignore[attr-defined]
    argparse.ngettext = words.ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = before  # type: ignore[attr-defined]
