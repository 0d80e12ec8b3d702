"""``member add`` and ``member password``: the people who act, and how they sign in."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from node.features.actors.local import create_actor
from node.features.actors.passwords import hash_password
from node.interfaces.cli.base import CommandError, Subparsers, data_arg, out, with_services
from node.runtime.services import Services
from storage.models.states import ActorKind, Role
from storage.repositories import actors as actor_repo

MIN_PASSWORD_LENGTH = 10


@with_services
async def cmd_member_add(args: argparse.Namespace, services: Services) -> int:
    """Prints the actor id and the member's bearer token (shown only this once)."""
    created = await create_actor(
        services,
        args.name,
        ActorKind.MEMBER,
        title=args.display_name,
        role=args.role,
        chapter=args.chapter,
    )
    out(created.actor.ap_id)
    out(f"token: {created.token}")
    return 0


async def cmd_member_password(args: argparse.Namespace) -> int:
    """Set a member's web sign-in password (from a file, $CHAPTERHOUSE_PASSWORD or stdin).

    The password is read and checked before the node is opened, so a bad one costs nothing."""
    if args.password_file:
        password = Path(args.password_file).read_text("utf-8").strip()  # noqa: ASYNC240 - one-shot CLI read
    else:
        password = os.environ.get("CHAPTERHOUSE_PASSWORD") or sys.stdin.readline().strip()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CommandError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return await _set_password(args, password)


@with_services
async def _set_password(args: argparse.Namespace, services: Services, password: str) -> int:
    async with services.db.write() as session:
        member = await actor_repo.local_actor_by_name(session, args.name)
        if member is None or member.kind != ActorKind.MEMBER:
            raise CommandError(f"no member named {args.name!r}")
        member.password_hash = hash_password(password)
    out(f"password set for {args.name}")
    return 0


def register(sub: Subparsers) -> None:
    member = sub.add_parser("member", help="manage members").add_subparsers(
        dest="sub", required=True
    )
    p = member.add_parser("add", help="add a member (prints the actor id and a bearer token)")
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--display-name")
    p.add_argument("--chapter", help="the local chapter the member belongs to")
    p.add_argument(
        "--role",
        default=Role.MEMBER,
        choices=list(Role),
        help="role in the chapter (admin: the whole node)",
    )
    p.set_defaults(func=cmd_member_add)

    p = member.add_parser(
        "password", help="set a member's sign-in password (stdin, file or $CHAPTERHOUSE_PASSWORD)"
    )
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--password-file", help="read the password from this file")
    p.set_defaults(func=cmd_member_password)
