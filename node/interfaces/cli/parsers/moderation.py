"""``block``, ``unblock`` and ``moderation flags``: the arguments; the bodies are in
``node.interfaces.cli.moderation``."""

from __future__ import annotations

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_

command = lazy("moderation")


def register(sub: Subparsers) -> None:
    block = sub.add_parser("block", help=N_("block domains and actors (admins)")).add_subparsers(
        dest="sub", required=True
    )
    p = block.add_parser(
        "domain", help=N_("suspend (refuse everything) or silence (keep out of feeds) a domain")
    )
    p.add_argument("target", metavar="DOMAIN")
    data_arg(p)
    p.add_argument("--severity", default="suspend", choices=["suspend", "silence"])
    p.add_argument("--reason")
    p.set_defaults(func=command("cmd_block_domain"))

    p = block.add_parser("actor", help=N_("refuse everything from one actor"))
    p.add_argument("target", metavar="ACTOR_URL")
    data_arg(p)
    p.add_argument("--reason")
    p.set_defaults(func=command("cmd_block_actor"))

    p = block.add_parser(
        "import", help=N_("import a Mastodon domain-block CSV (#domain,#severity,...)")
    )
    p.add_argument("file", metavar="FILE.csv")
    data_arg(p)
    p.set_defaults(func=command("cmd_block_import"))

    p = block.add_parser("list", help=N_("list blocks"))
    data_arg(p)
    p.add_argument("--json", action="store_true", help=N_("one JSON document on stdout"))
    p.set_defaults(func=command("cmd_block_list"))

    p = sub.add_parser("unblock", help=N_("lift a domain or actor block"))
    p.add_argument("target", metavar="DOMAIN_OR_ACTOR")
    data_arg(p)
    p.set_defaults(func=command("cmd_unblock"))

    moderation = sub.add_parser(
        "moderation", help=N_("abuse reports (flags): list and resolve them (admins)")
    ).add_subparsers(dest="sub", required=True)
    flags = moderation.add_parser("flags", help=N_("abuse reports")).add_subparsers(
        dest="flags_command", required=True
    )
    p = flags.add_parser("list", help=N_("list open abuse reports, newest first"))
    data_arg(p)
    p.add_argument("--all", action="store_true", help=N_("resolved reports too"))
    p.add_argument("--json", action="store_true", help=N_("one JSON document on stdout"))
    p.set_defaults(func=command("cmd_flags_list"))

    p = flags.add_parser("resolve", help=N_("close an open abuse report with a note"))
    p.add_argument("id", metavar="ID", help=N_("the report's id (see `moderation flags list`)"))
    data_arg(p)
    p.add_argument("--note", required=True, help=N_("what was done about the report"))
    p.add_argument(
        "--as",
        dest="as_name",
        metavar="ADMIN",
        help=N_("the admin resolving it (default: the node's operator, as the instance actor)"),
    )
    p.add_argument("--json", action="store_true", help=N_("the resolved flag as one JSON document"))
    p.set_defaults(func=command("cmd_flags_resolve"))
