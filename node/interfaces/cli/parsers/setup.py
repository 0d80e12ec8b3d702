"""``init``, ``serve`` and ``worker``: the arguments; the bodies are in ``node.interfaces.cli.setup``
(``init``) and ``node.interfaces.cli.serve`` (``serve``, ``worker``: they need the web app)."""

from __future__ import annotations

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_

command = lazy("setup")
running = lazy("serve")


def register_init(sub: Subparsers) -> None:
    p = sub.add_parser("init", help=N_("create a node's data directory, database and admin token"))
    data_arg(p)
    p.add_argument(
        "--base-url", required=True, help=N_("public URL of the node, e.g. https://chapter.example")
    )
    p.add_argument(
        "--allow-private-network",
        action="store_true",
        help=N_("allow http:// and loopback/private addresses (local testing and demos only)"),
    )
    p.set_defaults(func=command("cmd_init"))


def register_serve(sub: Subparsers) -> None:
    """``serve`` and ``worker``: registered apart from ``init`` to keep the ``--help`` order."""
    p = sub.add_parser("serve", help=N_("serve the node over HTTP (and run its workers)"))
    data_arg(p)
    p.add_argument("--host")
    p.add_argument(
        "--port",
        type=int,
        help=N_("default: the port in base_url (http://127.0.0.1:8100), else 8080"),
    )
    p.add_argument(
        "--workers", type=int, help=N_("0: HTTP only (run `chapterhouse worker` beside it)")
    )
    p.set_defaults(func=running("cmd_serve"))

    p = sub.add_parser("worker", help=N_("run delivery, inbox handling and rollups (no HTTP)"))
    data_arg(p)
    p.set_defaults(func=running("cmd_worker"))
