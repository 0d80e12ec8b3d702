"""The ``chapterhouse`` command line. The forms documented in the issues are a contract.

Exit codes: 0 success, 1 the command could not be done (the message says why),
2 usage errors (argparse).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from protocol.errors import MalformedDocument
from storage.errors import AlreadyExists

from .app import close_services, create_app, open_services
from .config import CONFIG_FILE, ConfigError, Settings, load_settings, write_config
from .following import FollowError, follow, following, unfollow
from .local_actors import create_actor, issue_token
from .logging_setup import configure_logging
from .services import INSTANCE_ACTOR, Services

ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name, not a secret


class CommandError(Exception):
    """A command failed for a reason the user can act on."""


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    data = Path(args.data)
    if not (data / CONFIG_FILE).exists() and not os.environ.get("CHAPTERHOUSE_BASE_URL"):
        raise CommandError(f"{data} is not a Chapterhouse data directory (run `chapterhouse init`)")
    return load_settings(data, **overrides)


async def _with_services(
    args: argparse.Namespace, action: Callable[[Services], Awaitable[int]]
) -> int:
    services = await open_services(_settings(args))
    try:
        return await action(services)
    finally:
        await close_services(services)


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


async def cmd_init(args: argparse.Namespace) -> int:
    data = Path(args.data)
    if (data / CONFIG_FILE).exists():
        raise CommandError(f"{data} is already initialised ({data / CONFIG_FILE} exists)")
    data.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
    values: dict[str, object] = {"base_url": args.base_url}
    if args.allow_private_network:
        values["allow_private_network"] = True
    try:
        Settings(data_dir=data, **values)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise CommandError(str(exc)) from exc
    write_config(data, values)

    async def action(services: Services) -> int:
        from storage.repositories import actors as actor_repo

        async with services.db.read() as session:
            relay = await actor_repo.local_actor_by_name(session, INSTANCE_ACTOR)
        assert relay is not None
        token = await issue_token(services, relay, "admin")
        token_path = data / ADMIN_TOKEN_FILE
        token_path.touch(mode=0o600)
        token_path.write_text(token + "\n", "utf-8")
        _out(f"initialised node {services.settings.base_url} in {data}")
        _out(f"admin token: {token}")
        return 0

    return await _with_services(args, action)


async def cmd_chapter_create(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        created = await create_actor(
            services,
            args.name,
            "campaign" if args.campaign else "chapter",
            title=args.title,
            summary=args.summary,
            approve_followers=args.approve_followers,
        )
        _out(created.actor.ap_id)
        _err(f"handle: acct:{created.actor.name}@{services.ids.authority}")
        return 0

    return await _with_services(args, action)


async def cmd_member_add(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        created = await create_actor(
            services, args.name, "member", title=args.display_name, role=args.role
        )
        _out(created.actor.ap_id)
        _out(f"token: {created.token}")
        return 0

    return await _with_services(args, action)


async def cmd_follow(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        result = await follow(services, args.as_name, args.target)
        _out(f"{result.target} {result.state}")
        return 0

    return await _with_services(args, action)


async def cmd_unfollow(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        result = await unfollow(services, args.as_name, args.target)
        _out(f"{result.target} {result.state}")
        return 0

    return await _with_services(args, action)


async def cmd_following(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        rows = await following(services, args.as_name)
        if args.json:
            _out(json.dumps([{"target": r.target, "state": r.state} for r in rows]))
        else:
            for row in rows:
                _out(f"{row.target} {row.state}")
        return 0

    return await _with_services(args, action)


async def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args, host=args.host, port=args.port)
    configure_logging(settings.log_level)
    services = await open_services(settings)
    app = create_app(services)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise CommandError(f"cannot listen on {settings.host}:{settings.port}: {exc}") from exc
    from storage.repositories import actors as actor_repo

    async with services.db.read() as session:
        local = await actor_repo.local_actors(session, ["chapter", "campaign"])
    _out(f"serving {settings.base_url} on http://{settings.host}:{settings.port}")
    for actor in local:
        _out(f"{actor.kind} {actor.ap_id} acct:{actor.name}@{services.ids.authority}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    _err("shutting down")
    await runner.cleanup()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chapterhouse", description="A federated node for chapters of communities of action."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def data_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", required=True, metavar="DIR", help="the node's data directory")

    p = sub.add_parser("init", help="create a node's data directory, database and admin token")
    data_arg(p)
    p.add_argument(
        "--base-url", required=True, help="public URL of the node, e.g. https://chapter.example"
    )
    p.add_argument(
        "--allow-private-network",
        action="store_true",
        help="allow http:// and loopback/private addresses (local testing and demos only)",
    )
    p.set_defaults(func=cmd_init)

    chapter = sub.add_parser("chapter", help="manage chapters").add_subparsers(
        dest="sub", required=True
    )
    p = chapter.add_parser("create", help="create a chapter (prints its actor id)")
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--title")
    p.add_argument("--summary")
    p.add_argument("--approve-followers", action="store_true", help="approve followers by hand")
    p.add_argument("--campaign", action="store_true", help="create a campaign instead of a chapter")
    p.set_defaults(func=cmd_chapter_create)

    member = sub.add_parser("member", help="manage members").add_subparsers(
        dest="sub", required=True
    )
    p = member.add_parser("add", help="add a member (prints the actor id and a bearer token)")
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--display-name")
    p.add_argument("--role", default="member", choices=["member", "organiser", "admin"])
    p.set_defaults(func=cmd_member_add)

    p = sub.add_parser("serve", help="serve the node over HTTP (and run its workers)")
    data_arg(p)
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    for name, func, help_text in (
        ("follow", cmd_follow, "follow a chapter or account by handle or URL"),
        ("unfollow", cmd_unfollow, "stop following a chapter or account"),
    ):
        p = sub.add_parser(name, help=help_text)
        data_arg(p)
        p.add_argument("--as", dest="as_name", required=True, metavar="LOCALNAME")
        p.add_argument("target", metavar="HANDLE_OR_URL")
        p.set_defaults(func=func)

    p = sub.add_parser("following", help="list whom a local actor follows, with the state")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="LOCALNAME")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_following)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "serve":
        configure_logging(os.environ.get("CHAPTERHOUSE_LOG_LEVEL", "WARNING"))
    try:
        code: int = asyncio.run(args.func(args))
        return code
    except (
        CommandError,
        ConfigError,
        FollowError,
        AlreadyExists,
        MalformedDocument,
        ValueError,
    ) as exc:
        _err(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
