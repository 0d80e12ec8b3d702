"""What every command group shares: the error a command raises on purpose, the data directory,
the services a command runs with, and the two output streams.

Output convention (a contract scripts rely on): the result goes to stdout, one line or one JSON
document; notes for the human go to stderr.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from node.features.actors.authz import Principal, principal_by_name
from node.interfaces.cli.words import _, written
from node.runtime.config import CONFIG_FILE, Settings, load_settings
from node.runtime.services import Services
from node.runtime.wiring import close_services, open_services
from protocol.errors import ChapterhouseError, said

P = ParamSpec("P")
T = TypeVar("T")


class CommandError(ChapterhouseError):
    """A command failed for a reason the user can act on (exit 1, the message on stderr)."""


def out(line: str) -> None:
    """The command's result, flushed at once so a script reading the pipe sees it."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def err(line: str) -> None:
    """A note for the human (progress, hints, errors), kept off the result stream."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def told(wording: str, /, **params: object) -> None:
    """A long command's progress (``node.runtime.progress.Progress``) on stderr, in the run's
    language, its data filled in."""
    err(said(wording, params, _, written))


def settings_for(args: argparse.Namespace, **overrides: Any) -> Settings:
    """The node's settings from ``--data``, refusing a directory ``init`` never made (unless the
    environment configures the node, as the test rig does)."""
    data = Path(args.data)
    if not (data / CONFIG_FILE).exists() and not os.environ.get("CHAPTERHOUSE_BASE_URL"):
        raise CommandError(
            _("{data} is not a Chapterhouse data directory (run `chapterhouse init`)").format(
                data=data
            )
        )
    return load_settings(data, **overrides)


def with_services(
    body: Callable[Concatenate[argparse.Namespace, Services, P], Awaitable[T]],
) -> Callable[Concatenate[argparse.Namespace, P], Coroutine[Any, Any, T]]:
    """Run ``body(args, services, ...)`` with the node's services open, closing them however it
    ends, so that a command body is only what the command does."""

    @functools.wraps(body)
    async def command(args: argparse.Namespace, /, *extra: P.args, **named: P.kwargs) -> T:
        services = await open_services(settings_for(args))
        try:
            return await body(args, services, *extra, **named)
        finally:
            await close_services(services)

    return command


async def principal(services: Services, name: str) -> Principal:
    """The local actor a command acts as (``--as NAME``), with its rights."""
    async with services.db.read() as session:
        return await principal_by_name(session, name)
