"""``member add``, ``member update``, ``member password``, ``member invite``, ``member sessions revoke`` and
``member tokens revoke``: the people who act, how they sign in, and taking that back.

An unknown member ends with ``NotFoundError`` (exit 1, "no member named ..." on stderr)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from node.features.actors.authz import local_chapter
from node.features.actors.invitations import create_invitation, expires_at
from node.features.actors.language import set_member_language
from node.features.actors.local import create_actor, hash_token
from node.features.actors.passwords import hash_password_off_loop
from node.features.actors.revocation import revoke_sessions, revoke_tokens
from node.features.notifications.preferences import KEEP, update_member_settings, valid_address
from node.interfaces.cli.base import (
    CommandError,
    err,
    out,
    principal,
    with_services,
)
from node.interfaces.cli.words import _, ngettext
from node.runtime.services import Services
from storage.models.states import ActorKind
from storage.repositories import actors as actor_repo

MIN_PASSWORD_LENGTH = 10


@with_services
async def cmd_member_add(args: argparse.Namespace, services: Services) -> int:
    """Prints the actor id and the member's bearer token (shown only this once). A bad
    ``--email`` is refused before anything is made."""
    email = valid_address(args.email) if args.email is not None else None
    created = await create_actor(
        services,
        args.name,
        ActorKind.MEMBER,
        title=args.display_name,
        role=args.role,
        chapter=args.chapter,
    )
    if email is not None:
        await update_member_settings(services, created.actor.id, email=email)
    out(created.actor.ap_id)
    out(f"token: {created.token}")
    return 0


@with_services
async def cmd_member_update(args: argparse.Namespace, services: Services) -> int:
    """A member's notification settings: ``--email ADDR`` ("" for none) and ``--reminders
    on|off``; prints them as they now are."""
    if args.email is None and args.reminders is None and args.language is None:
        raise CommandError(_("nothing to change: give --email, --reminders or --language"))
    member = await update_member_settings(
        services,
        args.name,
        email=KEEP if args.email is None else args.email,
        reminders=KEEP if args.reminders is None else args.reminders == "on",
    )
    line = (
        f"{member.name} email={member.email or '-'} reminders={'on' if member.reminders else 'off'}"
    )
    if args.language is not None:  # the line scripts read grows only when it was asked for
        chosen = await set_member_language(services, member.id, args.language.strip() or None)
        line += f" language={chosen or '-'}"
    out(line)
    return 0


async def cmd_member_password(args: argparse.Namespace) -> int:
    """Set a member's web sign-in password (from a file, $CHAPTERHOUSE_PASSWORD or stdin).

    The password is read and checked before the node is opened, so a bad one costs nothing."""
    if args.password_file:
        password = Path(args.password_file).read_text("utf-8").strip()  # noqa: ASYNC240 - one-shot CLI read
    else:
        password = os.environ.get("CHAPTERHOUSE_PASSWORD") or sys.stdin.readline().strip()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CommandError(
            _("the password must have at least {count} characters").format(
                count=MIN_PASSWORD_LENGTH
            )
        )
    return await _set_password(args, password)


@with_services
async def _set_password(args: argparse.Namespace, services: Services, password: str) -> int:
    hashed = await hash_password_off_loop(password)  # before the write: a running node waits
    async with services.db.write() as session:
        member = await actor_repo.local_actor_by_name(session, args.name)
        if member is None or member.kind != ActorKind.MEMBER:
            raise CommandError(_("no member named {name!r}").format(name=args.name))
        member.password_hash = hashed
    out(_("password set for {name}").format(name=args.name))
    return 0


@with_services
async def cmd_member_invite(args: argparse.Namespace, services: Services) -> int:
    """Prints a one-time sign-up link for the chapter (the result) and when it expires (a note)."""
    who = await principal(services, args.as_name)
    async with services.db.read() as session:
        chapter = await local_chapter(session, args.chapter)
    token = await create_invitation(services, who, chapter, args.role)
    out(services.ids.url(f"invite/{token}"))
    async with services.db.read() as session:
        made = await actor_repo.invitation_by_token_hash(session, hash_token(token))
    if made is not None:
        err(_("expires {when}").format(when=expires_at(services, made).isoformat()))
    return 0


@with_services
async def cmd_member_sessions_revoke(args: argparse.Namespace, services: Services) -> int:
    """Signs the member out of every browser; prints a confirmation line."""
    member = await revoke_sessions(services, args.name)
    out(_("signed {name} out everywhere").format(name=member.name))
    return 0


@with_services
async def cmd_member_tokens_revoke(args: argparse.Namespace, services: Services) -> int:
    """Deletes every API token of the member; prints how many."""
    count = await revoke_tokens(services, args.name)
    out(
        ngettext(
            "revoked {count} API token of {name}", "revoked {count} API tokens of {name}", count
        ).format(count=count, name=args.name)
    )
    return 0
