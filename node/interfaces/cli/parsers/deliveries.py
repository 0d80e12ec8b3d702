"""``deliveries [list]`` and ``deliveries retry``: the arguments, and the usage checks argparse
cannot express; the bodies are in ``node.interfaces.cli.deliveries``."""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from typing import Any

from node.interfaces.cli.args import Command, Subparsers, lazy
from node.interfaces.cli.words import N_, _

command = lazy("deliveries")

#: What ``deliveries`` shows by default, and the states ``--state`` takes: the values of
#: ``node.interfaces.cli.deliveries.DELIVERY_LIST_STATES`` and ``DeliveryState.SENT``, spelled
#: out so that building the parser imports no storage (a test checks they agree).
DEFAULT_STATES = ("pending", "failing", "dead")
STATE_CHOICES = (*DEFAULT_STATES, "sent")
DELIVERY_LIST_LIMIT = 100


def _deliveries_command(
    listing: argparse.ArgumentParser, retry: argparse.ArgumentParser
) -> Command:
    """Checks what argparse cannot express, before the event loop starts, so these usage
    errors exit 2 like any other. ``--data`` is not marked required because it may come
    before or after the optional ``list``/``retry`` word, and each parser sees only its side.
    """

    def run(args: argparse.Namespace) -> Coroutine[Any, Any, int]:
        if args.sub == "retry":
            if "data" not in args:
                retry.error(_("the following arguments are required: %s") % "--data")
            if args.state is not None or args.limit is not None:
                retry.error(_("--state and --limit are for listing, not for retry"))
            chosen = [bool(args.ids), args.all_dead, args.host is not None]
            if sum(chosen) != 1:
                retry.error(_("say what to re-queue: IDs, --all-dead or --host HOST (one of them)"))
            return command("cmd_deliveries_retry")(args)
        if "data" not in args:
            listing.error(_("the following arguments are required: %s") % "--data")
        return command("cmd_deliveries_list")(args)

    return run


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            _("expected a positive whole number, got {text!r}").format(text=text)
        )
    return value


def _listing_options(p: argparse.ArgumentParser, default: Any) -> None:
    """On both ``deliveries`` and ``deliveries list``; see ``register`` for the defaults."""
    p.add_argument(
        "--data",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help=N_("the node's data directory (required)"),
    )
    p.add_argument(
        "--state",
        action="append",
        choices=list(STATE_CHOICES),
        default=default,
        help=N_("show rows in this state (repeatable; default: pending, failing, dead)"),
    )
    p.add_argument(
        "--limit",
        type=_positive_int,
        metavar="N",
        default=default,
        help=N_("show at most N rows (default 100)"),  # DELIVERY_LIST_LIMIT
    )
    p.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if default is argparse.SUPPRESS else False,
        help=N_("one JSON document on stdout"),
    )


def register(sub: Subparsers) -> None:
    # `deliveries` lists; `deliveries retry` re-queues. `list` may be named but need not be,
    # so the listing options live on both `deliveries` and `deliveries list`; the copies
    # default to SUPPRESS so that an option given on one side is not reset by the other.
    deliveries = sub.add_parser(
        "deliveries",
        help=N_("list the delivery queue (pending, failing, dead) or re-queue failed deliveries"),
        description=N_(
            "List deliveries, newest first (default: pending, failing and dead; "
            "failing = pending after at least one failed attempt), or re-queue them with `retry`."
        ),
    )
    _listing_options(deliveries, None)
    delivery_actions = deliveries.add_subparsers(dest="sub", metavar="[list | retry]")
    listing = delivery_actions.add_parser("list", help=N_("list deliveries (the default)"))
    _listing_options(listing, argparse.SUPPRESS)
    retry = delivery_actions.add_parser(
        "retry",
        help=N_("re-queue dead or failing deliveries (prints how many)"),
        description=N_(
            "Put dead or failing deliveries back in the queue, due now, with their "
            "attempt count reset. Give delivery IDs, or --all-dead, or --host HOST."
        ),
    )
    retry.add_argument("ids", nargs="*", type=int, metavar="ID", help=N_("delivery ids"))
    retry.add_argument(
        "--data",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help=N_("the node's data directory (required)"),
    )
    retry.add_argument("--all-dead", action="store_true", help=N_("every dead delivery"))
    retry.add_argument("--host", help=N_("the dead and failing deliveries to this host[:port]"))
    retry.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help=N_('print {"requeued": N}')
    )
    deliveries.set_defaults(func=_deliveries_command(deliveries, retry))
