"""``chapter create|update``: the arguments; the bodies are in ``node.interfaces.cli.chapters``."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.parsers import chapter_moves
from node.interfaces.cli.words import N_, _, written
from protocol.chapter_profile import (
    MAX_ADDRESS,
    MAX_PLACE_NAME,
    InvalidProfileField,
    normalise_topic,
    parse_coordinates,
    validate_language,
    validate_place_text,
    validate_radius_km,
    validate_region,
)

command = lazy("chapters")

TIMEZONE_HELP = N_(
    "IANA time zone, e.g. Europe/London: call times given without an offset are read in it, "
    "and the web form starts with it"
)


#: What a clearing option gives (``--coordinates ""``): the part is removed.
CLEAR = ""


def _checked(check: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse ``type``: a bad value is a usage error (exit 2) naming the option, said in
    the run's language with the value in it (``ChapterhouseError.spoken``)."""

    def convert(text: str) -> object:
        try:
            return check(text)
        except InvalidProfileField as exc:
            raise argparse.ArgumentTypeError(exc.spoken(_, written)) from exc

    return convert


def _clearable(check: Callable[[str], object]) -> Callable[[str], object]:
    return _checked(lambda text: CLEAR if not text.strip() else check(text))


def _radius(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidProfileField("radius_km", N_("{text!r} is not a number"), text=text) from None
    return validate_radius_km(value)


def profile_args(p: argparse.ArgumentParser) -> None:
    """Where the chapter is, the area it serves, its languages and topics (published in its
    Group actor; followers get an Update). An empty value (``--place-name ""``) or an option
    given with no values (``--topic``) clears that part."""
    p.add_argument(
        "--coordinates",
        metavar="LAT,LON",
        type=_clearable(parse_coordinates),
        help=N_(
            "decimal degrees, e.g. 45.75,4.85 (write --coordinates=-33.87,151.21 when negative)"
        ),
    )
    p.add_argument(
        "--place-name",
        metavar="TEXT",
        type=_clearable(lambda t: validate_place_text("place_name", t, MAX_PLACE_NAME)),
        help=N_("the place's name, e.g. a town or a meeting hall"),
    )
    p.add_argument(
        "--address",
        metavar="TEXT",
        type=_clearable(lambda t: validate_place_text("address", t, MAX_ADDRESS)),
        help=N_("a postal address, on one line"),
    )
    p.add_argument(
        "--radius-km",
        metavar="N",
        type=_clearable(_radius),
        help=N_("the area served: kilometres around the coordinates"),
    )
    for flag, dest, check, what in (
        (
            "--region",
            "regions",
            validate_region,
            N_("a named region it serves; repeatable, replaces the list"),
        ),
        (
            "--language",
            "languages",
            validate_language,
            N_("a language it speaks (BCP 47: en, pt-BR); repeatable, replaces the list"),
        ),
        (
            "--topic",
            "topics",
            normalise_topic,
            N_("a topic (hashtag, with or without #); repeatable, replaces the list"),
        ),
    ):
        p.add_argument(
            flag,
            dest=dest,
            metavar=flag.removeprefix("--").upper()[0],
            nargs="*",
            action="extend",
            type=_checked(check),
            help=what,
        )


def register(sub: Subparsers) -> None:
    chapter = sub.add_parser("chapter", help=N_("manage chapters")).add_subparsers(
        dest="sub", required=True
    )
    p = chapter.add_parser("create", help=N_("create a chapter (prints its actor id)"))
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--title")
    p.add_argument("--summary")
    p.add_argument("--approve-followers", action="store_true", help=N_("approve followers by hand"))
    p.add_argument(
        "--campaign", action="store_true", help=N_("create a campaign instead of a chapter")
    )
    p.add_argument("--timezone", metavar="ZONE", help=TIMEZONE_HELP)
    profile_args(p)
    p.set_defaults(func=command("cmd_chapter_create"))

    p = chapter.add_parser(
        "update",
        help=N_("change a chapter's settings (prints its actor id); only those given change"),
    )
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--timezone", metavar="ZONE", help=TIMEZONE_HELP)
    p.add_argument("--title", help=N_("the name people see (followers get an Update)"))
    p.add_argument(
        "--summary", help=N_("one paragraph about the chapter (followers get an Update)")
    )
    p.add_argument(
        "--reminder-offsets",
        metavar="MINUTES",
        help=N_(
            "reminders before each call, in minutes before its start, e.g. 1440,120; "
            "'none' for no reminders, 'default' for the node's (reminder_offsets_minutes)"
        ),
    )
    profile_args(p)
    p.set_defaults(func=command("cmd_chapter_update"))
    chapter_moves.register(chapter)  # export, import, moved
