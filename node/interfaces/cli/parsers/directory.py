"""``directory seed add|refresh|search``: the arguments; the bodies are in
``node.interfaces.cli.directory``."""

from __future__ import annotations

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_

command = lazy("directory")


def register(sub: Subparsers) -> None:
    directory = sub.add_parser(
        "directory", help=N_("find chapters and campaigns near you, on any node")
    ).add_subparsers(dest="sub", required=True)

    seed = directory.add_parser("seed", help=N_("nodes whose directories this node reads"))
    seeds = seed.add_subparsers(dest="seed_sub", required=True)
    p = seeds.add_parser("add", help=N_("read this node's directory at the next refresh"))
    p.add_argument("url", metavar="URL")
    data_arg(p)
    p.set_defaults(func=command("cmd_directory_seed_add"))

    p = directory.add_parser(
        "refresh", help=N_("read the directories of the nodes we know now, and wait until done")
    )
    data_arg(p)
    p.set_defaults(func=command("cmd_directory_refresh"))

    p = directory.add_parser("search", help=N_("chapters and campaigns by place and words"))
    p.add_argument("text", metavar="TEXT", nargs="?", default=None)
    p.add_argument(
        "--near",
        metavar="PLACE",
        help=N_(
            'LAT,LON or a place name ("Lyon", "Lyon, FR"); write --near=-33.87,151.21 when negative'
        ),
    )
    p.add_argument("--radius", metavar="KM", help=N_("how far from --near, in km"))
    p.add_argument("--topic", metavar="T")
    p.add_argument("--language", metavar="L")
    p.add_argument("--limit", metavar="N")
    data_arg(p)
    p.add_argument("--json", action="store_true", help=N_("print the results as JSON"))
    p.set_defaults(func=command("cmd_directory_search"))
