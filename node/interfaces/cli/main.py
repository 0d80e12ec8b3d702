"""The ``chapterhouse`` command line: builds the parser from the command groups, runs the chosen
command and turns its known failures into exit codes. The forms documented in the issues, their
outputs and their exit codes are a contract that scripts rely on.

Exit codes: 0 success, 1 the command could not be done (the message says why), 2 usage errors
(argparse), 130 interrupted. ``EXIT_CODES`` is the one place failures are mapped.

Every run builds the whole parser, ``--help`` included, so it is built from the registration
modules in ``node.interfaces.cli.parsers``, which import only the standard library; the module
holding a command's body (and the features, SQLAlchemy and aiohttp behind it) is imported only
when that command runs (``node.interfaces.cli.args.LazyCommand``). Keep this module's own
imports as light: tests/node/interfaces/cli/test_lazy_parser.py checks that they stay so.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Coroutine, Sequence
from typing import Any, NamedTuple

from node.interfaces.cli.args import Subparsers
from node.interfaces.cli.parsers import (
    actions,
    backup,
    campaigns,
    chapters,
    deliveries,
    demo,
    directory,
    following,
    keys,
    members,
    moderation,
    notifications,
    participation,
    polls,
    purge,
    reports,
    setup,
    verify,
)
from node.interfaces.cli.words import (
    ENGLISH,
    N_,
    Translations,
    _,
    argparse_words,
    language_for,
    localise,
    speaking,
    written,
)
from node.runtime.logs import configure_logging
from protocol.errors import ChapterhouseError
from storage.errors import AlreadyExists


class Exit(NamedTuple):
    code: int
    message: bool  # print "error: <the exception>" on stderr


FAILED = Exit(1, message=True)

EXIT_CODES: dict[type[BaseException], Exit] = {
    # CommandError, ConfigError, BackupError, the features' refusals (FieldError, Forbidden,
    # NotFoundError, FollowError, RsvpError ...) and the protocol's (MalformedDocument ...).
    ChapterhouseError: FAILED,
    AlreadyExists: FAILED,  # a local actor's name is taken (storage cannot import protocol)
    ValueError: FAILED,  # create_actor, rotate_keys and blocks refuse bad input with ValueError
    OSError: FAILED,  # files the user named, the network
    KeyboardInterrupt: Exit(130, message=False),  # the user pressed Ctrl-C and knows why
}
"""Failures a command may end with on purpose. The most specific class listed wins; an exception
not listed here is a bug and propagates with its traceback."""

# The order `chapterhouse --help` lists the commands in (unchanged since the CLI was one module).
REGISTRARS = (
    setup.register_init,
    chapters.register,
    members.register,
    setup.register_serve,
    following.register_follow,
    actions.register,
    campaigns.register,
    reports.register,
    verify.register,
    participation.register,
    polls.register_vote,
    notifications.register,
    moderation.register,
    keys.register,
    backup.register,
    demo.register,
    following.register_listing,
    deliveries.register,
    purge.register,
    directory.register,
)


def build_parser(words: Translations = ENGLISH) -> argparse.ArgumentParser:
    """The whole parser, its texts shown in ``words``' language (``words.py``)."""
    parser = argparse.ArgumentParser(
        prog="chapterhouse",
        description=N_("A federated node for chapters of communities of action."),
    )
    sub: Subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in REGISTRARS:
        register(sub)
    localise(parser, words)
    return parser


def words_for(language: str) -> Translations:
    """The catalogue of ``language``; English needs none, and no Babel."""
    if language == "en":
        return ENGLISH
    from node.runtime.i18n import Catalogues  # Babel: only for a run that speaks another language

    return Catalogues().translations(language, "messages")


def exit_for(exc: BaseException) -> Exit | None:
    """How ``exc`` ends the command, or None if it is a bug (not in ``EXIT_CODES``)."""
    return next((EXIT_CODES[cls] for cls in type(exc).__mro__ if cls in EXIT_CODES), None)


def _run(args: argparse.Namespace, coro: Coroutine[Any, Any, int]) -> int:
    """Long-running commands (``serve``, ``worker``) run on uvloop when the node's
    ``event_loop`` setting asks for it."""
    import asyncio  # here, not at the top: `--help` and usage errors never need it

    if args.command in {"serve", "worker"}:
        from node.interfaces.cli.base import CommandError, settings_for
        from node.runtime.config import ConfigError

        try:
            wanted = settings_for(args).event_loop
        except (CommandError, ConfigError):
            wanted = "asyncio"  # the command itself reports the problem
        if wanted == "uvloop":
            # Imported here, not at the top: uvloop is not installed on Windows (pyproject).
            import uvloop

            return uvloop.run(coro)
    return asyncio.run(coro)


def _reason(exc: BaseException) -> str:
    """Why ``exc`` ended the command, in the run's language: a feature's error carries its
    marked ``wording`` and its ``params`` (``protocol.errors.ChapterhouseError.spoken``), so
    the data it names reaches the reader inside their language's sentence; anything else is
    said as it says it."""
    if isinstance(exc, ChapterhouseError):
        return exc.spoken(_, written)
    return str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    language = language_for(argv)
    words = words_for(language)
    with argparse_words(words), speaking(language, words):
        return _main(argv, words)


def _main(argv: Sequence[str], words: Translations) -> int:
    args = build_parser(words).parse_args(argv)
    if args.command != "serve":
        configure_logging(os.environ.get("CHAPTERHOUSE_LOG_LEVEL", "WARNING"))
    try:
        code: int = _run(args, args.func(args))
        return code
    except BaseException as exc:
        how = exit_for(exc)
        if how is None:
            raise
        if how.message:
            from node.interfaces.cli.base import err  # loaded already by the command that failed

            err(_("error: {reason}").format(reason=_reason(exc)))
        return how.code


if __name__ == "__main__":
    sys.exit(main())
