"""``member add|update|password|invite|sessions revoke|tokens revoke``: the arguments; the bodies
are in ``node.interfaces.cli.members``."""

from __future__ import annotations

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_

command = lazy("members")

#: ``storage.models.states.Role`` and ``node.features.actors.invitations.INVITABLE_ROLES``,
#: spelled out so that building the parser imports no storage (a test checks they agree).
ROLES = ("member", "organiser", "admin")
INVITABLE_ROLES = ("member", "organiser")


def register(sub: Subparsers) -> None:
    member = sub.add_parser("member", help=N_("manage members")).add_subparsers(
        dest="sub", required=True
    )
    p = member.add_parser("add", help=N_("add a member (prints the actor id and a bearer token)"))
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--display-name")
    p.add_argument("--chapter", help=N_("the local chapter the member belongs to"))
    p.add_argument(
        "--role",
        default="member",
        choices=list(ROLES),
        help=N_("role in the chapter (admin: the whole node)"),
    )
    p.add_argument(
        "--email", metavar="ADDR", help=N_("where the member's notifications are e-mailed")
    )
    p.set_defaults(func=command("cmd_member_add"))

    p = member.add_parser(
        "update",
        help=N_("change a member's notification settings (prints them)"),
        description=N_(
            'Change where a member\'s notifications are e-mailed (--email "" for '
            "none: in-app only) and whether they are reminded before calls they are going to."
        ),
    )
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--email", metavar="ADDR", help=N_('the address ("" for none)'))
    p.add_argument("--reminders", choices=["on", "off"])
    p.add_argument(
        "--language",
        metavar="LANG",
        help=N_('the language of their pages and e-mails: es, fr, de, en ("" for the browser\'s)'),
    )
    p.set_defaults(func=command("cmd_member_update"))

    p = member.add_parser(
        "password",
        help=N_("set a member's sign-in password (stdin, file or $CHAPTERHOUSE_PASSWORD)"),
    )
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--password-file", help=N_("read the password from this file"))
    p.set_defaults(func=command("cmd_member_password"))

    p = member.add_parser(
        "invite", help=N_("make a one-time sign-up link for a chapter (prints the link)")
    )
    p.add_argument("chapter", help=N_("the chapter or campaign the newcomer joins"))
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--role", default="member", choices=list(INVITABLE_ROLES))
    p.set_defaults(func=command("cmd_member_invite"))

    sessions = member.add_parser("sessions", help=N_("a member's browser sessions")).add_subparsers(
        dest="action", required=True
    )
    p = sessions.add_parser(
        "revoke",
        help=N_("sign the member out of every browser (exit 1 if there is no such member)"),
        description=N_("Sign the member out of every browser at once. They can sign in again."),
    )
    p.add_argument("name")
    data_arg(p)
    p.set_defaults(func=command("cmd_member_sessions_revoke"))

    tokens = member.add_parser("tokens", help=N_("a member's API tokens")).add_subparsers(
        dest="action", required=True
    )
    p = tokens.add_parser(
        "revoke",
        help=N_("make every API token of the member stop working (exit 1 if no such member)"),
        description=N_(
            "Delete every API token of the member: requests with them answer 401. "
            "The member's node-wide role stays."
        ),
    )
    p.add_argument("name")
    data_arg(p)
    p.set_defaults(func=command("cmd_member_tokens_revoke"))
