"""What the parser is built from, and nothing more: building it must stay cheap, because every
``chapterhouse`` run builds all of it (``--help`` included) before it knows which command runs.

So this module, and the registration modules in ``node.interfaces.cli.parsers`` that use it,
import only the standard library. A command names its implementation by module and function
(``lazy``); the module, with the features, SQLAlchemy and aiohttp behind it, is imported only when
that command runs. tests/node/interfaces/cli/test_lazy_parser.py keeps it so.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from node.interfaces.cli.words import N_

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers`` returns; each group's ``register`` adds its commands to it."""

Command: TypeAlias = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]
"""A command as ``main`` runs it: the parsed arguments in, the exit code out."""

IMPLEMENTATIONS = "node.interfaces.cli"
"""The package whose modules hold the commands' bodies (``members``, ``actions`` ...)."""


@dataclass(frozen=True)
class LazyCommand:
    """A command whose body lives in ``IMPLEMENTATIONS.<module>.<name>``, imported when the
    command is called (after parsing), not when the parser is built."""

    module: str
    name: str

    def resolve(self) -> Command:
        module = importlib.import_module(f"{IMPLEMENTATIONS}.{self.module}")
        target: Command = getattr(module, self.name)
        return target

    def __call__(self, args: argparse.Namespace) -> Coroutine[Any, Any, int]:
        return self.resolve()(args)


def lazy(module: str) -> Callable[[str], LazyCommand]:
    """``command = lazy("members")`` then ``set_defaults(func=command("cmd_member_add"))``."""
    return lambda name: LazyCommand(module, name)


def data_arg(parser: argparse.ArgumentParser) -> None:
    """The ``--data DIR`` option that almost every command takes."""
    parser.add_argument(
        "--data", required=True, metavar="DIR", help=N_("the node's data directory")
    )


class IntermixedParser(argparse.ArgumentParser):
    """A command whose names may follow its options, as the contract writes it
    (``checkin CALL_ID --data DIR --as ORGANISER mia max``): plain argparse gives a ``*``
    positional only the words before the first option."""

    intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self.intermixing:  # parse_known_intermixed_args calls back here, twice
            return super().parse_known_args(args, namespace)
        self.intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self.intermixing = False
