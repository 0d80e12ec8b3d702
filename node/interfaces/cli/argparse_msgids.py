"""argparse's own words, listed so that ``make messages`` extracts them into the ``messages``
catalogue: argparse asks the standard ``gettext`` for them, and ``words.argparse_words`` answers
from our catalogue while a command runs. Never imported; the strings are argparse's msgids
(Python 3.11), spelled exactly as argparse spells them."""

from __future__ import annotations

from node.interfaces.cli.words import N_, ngettext

ARGPARSE_WORDS = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
    N_("ignored explicit argument %r"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("unexpected option string: %s"),
)


def _plural_forms(n: int) -> str:
    return ngettext("expected %s argument", "expected %s arguments", n)
