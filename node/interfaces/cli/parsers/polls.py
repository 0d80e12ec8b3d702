"""``action poll`` and ``vote``: the arguments; the bodies are in ``node.interfaces.cli.polls``."""

from __future__ import annotations

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_

command = lazy("polls")


def register_action(actions: Subparsers) -> None:
    p = actions.add_parser(
        "poll",
        help=N_("publish a call's RSVP poll (prints its id); a vote counts as an RSVP"),
        description=N_(
            "Publish the call's RSVP poll to the chapter's followers: a Question "
            "'Coming to <title> on <date>?' with 'Going' and 'Can't make it', closing when the call "
            "starts. Mastodon users vote on it; 'Going' counts as a Join (capacity and waiting "
            "list apply) and each voter gets a direct message saying what happened."
        ),
    )
    p.add_argument("call_id", metavar="CALL_ID")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--json", action="store_true", help=N_("print the poll (a Question) as JSON"))
    p.set_defaults(func=command("cmd_action_poll"))


def register_vote(sub: Subparsers) -> None:
    p = sub.add_parser(
        "vote",
        help=N_("answer another chapter's RSVP poll (as a Mastodon user would)"),
        description=N_(
            "Vote on a poll published elsewhere (a Question, e.g. a chapter's RSVP "
            "poll 'Coming to ...?'). 'Going' records a pending commitment to the poll's call; the "
            "chapter's answer (accepted, waiting list, refused) arrives as a direct message and "
            "shows in `commitments` and `notifications`. 'Can't make it' withdraws it."
        ),
    )
    p.add_argument("poll", metavar="POLL_URL")
    p.add_argument("option", metavar="OPTION", help=N_("the option's exact text, e.g. Going"))
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="MEMBER")
    p.set_defaults(func=command("cmd_vote"))
