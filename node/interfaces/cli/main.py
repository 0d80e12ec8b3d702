"""The ``chapterhouse`` command line. The forms documented in the issues are a contract.

Exit codes: 0 success, 1 the command could not be done (the message says why),
2 usage errors (argparse).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from node.features.actors.authz import Forbidden, NotFoundError, Principal, principal_by_name
from node.features.actors.local import create_actor, issue_token, rotate_keys
from node.features.calls.input import FieldError
from node.features.calls.lifecycle import (
    adopt_action,
    call_from_row,
    cancel_action,
    create_action,
    list_actions,
    update_action,
)
from node.features.calls.rsvp import RsvpError, commitments, leave, rsvp
from node.features.calls.views import call_json, commitment_json
from node.features.following.feed import feed_page
from node.features.following.follow import FollowError, follow, following, unfollow
from node.features.impact.campaigns import campaign_totals
from node.features.impact.reports import (
    create_report,
    parse_metric_args,
    retract_own_report,
    update_report,
)
from node.features.impact.verify import Verdict, verify_rollup
from node.features.moderation.blocks import block_actor, block_domain, import_mastodon_csv, unblock
from node.runtime.app import close_services, create_app, open_services, settle_heap, worker_tasks
from node.runtime.config import CONFIG_FILE, ConfigError, Settings, load_settings, write_config
from node.runtime.logs import configure_logging
from node.runtime.services import INSTANCE_ACTOR, Services
from protocol.errors import MalformedDocument
from storage.errors import AlreadyExists
from storage.models import ActionCall as CallRow
from storage.repositories import delivery_admin
from storage.repositories import moderation as moderation_repo

ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name, not a secret
T = TypeVar("T")


class CommandError(Exception):
    """A command failed for a reason the user can act on."""


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    data = Path(args.data)
    if not (data / CONFIG_FILE).exists() and not os.environ.get("CHAPTERHOUSE_BASE_URL"):
        raise CommandError(f"{data} is not a Chapterhouse data directory (run `chapterhouse init`)")
    return load_settings(data, **overrides)


async def _with_services(args: argparse.Namespace, action: Callable[[Services], Awaitable[T]]) -> T:
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
            services,
            args.name,
            "member",
            title=args.display_name,
            role=args.role,
            chapter=args.chapter,
        )
        _out(created.actor.ap_id)
        _out(f"token: {created.token}")
        return 0

    return await _with_services(args, action)


async def cmd_member_password(args: argparse.Namespace) -> int:
    """Set a member's web sign-in password (from a file, $CHAPTERHOUSE_PASSWORD or stdin)."""
    if args.password_file:
        password = Path(args.password_file).read_text("utf-8").strip()  # noqa: ASYNC240 - one-shot CLI read
    else:
        password = os.environ.get("CHAPTERHOUSE_PASSWORD") or sys.stdin.readline().strip()
    if len(password) < 10:
        raise CommandError("the password must have at least 10 characters")

    async def action(services: Services) -> int:
        from node.features.actors.passwords import hash_password
        from storage.repositories import actors as actor_repo

        async with services.db.write() as session:
            member = await actor_repo.local_actor_by_name(session, args.name)
            if member is None or member.kind != "member":
                raise CommandError(f"no member named {args.name!r}")
            member.password_hash = hash_password(password)
        _out(f"password set for {args.name}")
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


async def cmd_worker(args: argparse.Namespace) -> int:
    """Delivery, inbox handling and rollups without HTTP (beside ``serve --workers 0``)."""
    settings = _settings(args)
    configure_logging(settings.log_level)
    services = await open_services(settings)
    tasks = [asyncio.create_task(coro, name=name) for name, coro in worker_tasks(services)]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    _out(f"worker running for {settings.base_url}")
    settle_heap()
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await close_services(services)
    return 0


async def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(
        args,
        host=args.host,
        port=args.port,
        run_workers=None if args.workers is None else args.workers > 0,
    )
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
    settle_heap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    _err("shutting down")
    await runner.cleanup()
    return 0


def _action_fields(args: argparse.Namespace) -> dict[str, object]:
    """CLI options → the same input the JSON API takes (validated in one place)."""
    data: dict[str, object] = {}
    for name in ("title", "start", "end", "timezone", "goal", "description", "online_url"):
        value = getattr(args, name, None)
        if value is not None:
            data[name] = value
    if args.place is not None:
        data["place"] = {"name": args.place, **({"address": args.address} if args.address else {})}
    if args.capacity is not None:
        data["capacity"] = args.capacity
    if args.target:
        data["targets"] = list(args.target)
    if args.tag:
        data["tags"] = list(args.tag)
    return data


async def _principal(services: Services, name: str) -> Principal:
    async with services.db.read() as session:
        return await principal_by_name(session, name)


def _print_call(services: Services, row: CallRow, as_json: bool) -> None:
    call = call_from_row(row, services)
    if as_json:
        _out(json.dumps(call_json(call, local=row.local_actor_id is not None)))
    else:
        _out(call.id)
        _err(f"{call.title} · {call.status.lower()} · {call.participant_count} coming")


async def cmd_action_create(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        who = await _principal(services, args.as_name)
        row = await create_action(services, who, args.chapter, _action_fields(args))
        _print_call(services, row, args.json)
        return 0

    return await _with_services(args, action)


async def cmd_action_update(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        who = await _principal(services, args.as_name)
        row = await update_action(services, who, args.call_id, _action_fields(args))
        _print_call(services, row, args.json)
        return 0

    return await _with_services(args, action)


async def cmd_action_cancel(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        who = await _principal(services, args.as_name)
        row = await cancel_action(services, who, args.call_id)
        _print_call(services, row, args.json)
        return 0

    return await _with_services(args, action)


async def cmd_action_list(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        rows = await list_actions(services, args.chapter)
        calls = [call_from_row(r, services) for r in rows]
        if args.json:
            _out(json.dumps([call_json(c, local=True) for c in calls]))
        else:
            for c in calls:
                _out(
                    f"{c.id}\t{c.start.isoformat()}\t{c.status.lower()}\t{c.participant_count}\t{c.title}"
                )
        return 0

    return await _with_services(args, action)


async def cmd_rsvp(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        who = await _principal(services, args.as_name)
        result = await (
            leave(services, who, args.call) if args.leave else rsvp(services, who, args.call)
        )
        _out(f"{result.call} {result.state}" + (f" ({result.reason})" if result.reason else ""))
        return 0 if result.state != "rejected" else 1

    return await _with_services(args, action)


async def cmd_feed(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        who = await _principal(services, args.as_name)
        items, _more = await feed_page(services, who, page=args.page, per_page=args.per_page)
        if args.json:
            _out(json.dumps(items))
        else:
            for item in items:
                _out(f"{item['id']}\t{item['start']}\t{item['status']}\t{item['title']}")
        return 0

    return await _with_services(args, action)


async def cmd_commitments(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        who = await _principal(services, args.as_name)
        rows = await commitments(services, who)
        if args.json:
            _out(json.dumps([commitment_json(r) for r in rows]))
        else:
            for r in rows:
                _out(f"{r.call} {r.state}")
        return 0

    return await _with_services(args, action)


async def cmd_keys_rotate(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        actor = await rotate_keys(services, args.as_name, assertion=args.assertion_key)
        _out(f"{services.ids.main_key(actor.name)} rotated")
        _err("followers will receive an Update of the actor when the node next runs its workers")
        return 0

    return await _with_services(args, action)


DELIVERY_LIST_STATES = ("pending", "failing", "dead")  # what `deliveries` shows by default
DELIVERY_LIST_LIMIT = 100


def _delivery_json(view: delivery_admin.DeliveryView) -> dict[str, Any]:
    doc = dataclasses.asdict(view)
    for key in ("next_attempt_at", "created_at"):
        doc[key] = doc[key].isoformat() if doc[key] is not None else None
    return doc


def _delivery_table(views: Sequence[delivery_admin.DeliveryView]) -> list[str]:
    """Aligned columns; the last error is cut to one short line (``--json`` has it whole)."""

    def when(value: datetime | None) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else "-"

    def error(text: str | None) -> str:
        line = " ".join((text or "").split())
        return line if len(line) <= 80 else line[:79] + "…"

    rows = [("ID", "STATE", "TRIES", "NEXT ATTEMPT", "STATUS", "HOST", "TYPE", "LAST ERROR")]
    rows += [
        (
            str(v.id),
            v.state,
            str(v.attempts),
            when(v.next_attempt_at),
            str(v.last_status) if v.last_status is not None else "-",
            v.host,
            v.activity_type,
            error(v.last_error),
        )
        for v in views
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    ]


async def cmd_deliveries_list(args: argparse.Namespace) -> int:
    states = tuple(dict.fromkeys(args.state)) if args.state else DELIVERY_LIST_STATES
    limit = args.limit if args.limit is not None else DELIVERY_LIST_LIMIT

    async def action(services: Services) -> int:
        async with services.db.read() as session:
            views = await delivery_admin.list_deliveries(session, states=set(states), limit=limit)
        if args.json:
            _out(json.dumps([_delivery_json(v) for v in views]))
        elif views:
            for line in _delivery_table(views):
                _out(line.rstrip())
        else:
            _err(f"no deliveries in state {', '.join(states)}")
        return 0

    return await _with_services(args, action)


async def cmd_deliveries_retry(args: argparse.Namespace) -> int:
    ids = sorted(set(args.ids))

    async def action(services: Services) -> int:
        async with services.db.write() as session:
            count = await delivery_admin.requeue(
                session,
                ids=ids,
                all_dead=args.all_dead,
                host=args.host,
                now=services.clock.now(),
            )
        if getattr(args, "json", False):
            _out(json.dumps({"requeued": count}))
        else:
            _out(f"re-queued {count} {'delivery' if count == 1 else 'deliveries'}")
        if ids and count < len(ids):
            raise CommandError(
                f"only {count} of the {len(ids)} deliveries asked for could be re-queued; "
                "the rest do not exist, are not dead or failing, or are being sent right now"
            )
        return 0

    return await _with_services(args, action)


def _deliveries_command(
    listing: argparse.ArgumentParser, retry: argparse.ArgumentParser
) -> Callable[[argparse.Namespace], Awaitable[int]]:
    """Checks what argparse cannot express, before the event loop starts, so these usage
    errors exit 2 like any other. ``--data`` is not marked required because it may come
    before or after the optional ``list``/``retry`` word, and each parser sees only its side.
    """

    def command(args: argparse.Namespace) -> Awaitable[int]:
        if args.sub == "retry":
            if "data" not in args:
                retry.error("the following arguments are required: --data")
            if args.state is not None or args.limit is not None:
                retry.error("--state and --limit are for listing, not for retry")
            chosen = [bool(args.ids), args.all_dead, args.host is not None]
            if sum(chosen) != 1:
                retry.error("say what to re-queue: IDs, --all-dead or --host HOST (one of them)")
            return cmd_deliveries_retry(args)
        if "data" not in args:
            listing.error("the following arguments are required: --data")
        return cmd_deliveries_list(args)

    return command


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


async def cmd_campaign_create(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        created = await create_actor(
            services, args.name, "campaign", title=args.title, summary=args.summary
        )
        _out(created.actor.ap_id)
        _err(f"handle: acct:{created.actor.name}@{services.ids.authority}")
        return 0

    return await _with_services(args, action)


async def cmd_action_adopt(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        who = await _principal(services, args.as_name)
        row = await adopt_action(services, who, args.call, args.chapter)
        _print_call(services, row, args.json)
        return 0

    return await _with_services(args, action)


async def cmd_report_create(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        who = await _principal(services, args.as_name)
        measures = parse_metric_args(args.metric or [], args.method)
        row = await create_report(services, who, args.call, measures, args.text)
        _out(row.ap_id)
        return 0

    return await _with_services(args, action)


async def cmd_report_update(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        who = await _principal(services, args.as_name)
        measures = parse_metric_args(args.metric, args.method) if args.metric else None
        row = await update_report(services, who, args.report_id, measures, args.text)
        _out(row.ap_id)
        return 0

    return await _with_services(args, action)


async def cmd_report_retract(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        who = await _principal(services, args.as_name)
        row = await retract_own_report(services, who, args.report_id)
        _out(f"{row.ap_id} retracted")
        return 0

    return await _with_services(args, action)


async def cmd_totals(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        result = await campaign_totals(services, args.campaign)
        if args.json:
            _out(json.dumps(result.summary()))
        else:
            _out(f"{result.campaign}: {result.chapter_count} chapters")
            for total in result.totals:
                _out(f"{total['metric']}\t{total['value']}\t{total['unit']}")
        return 0

    return await _with_services(args, action)


async def cmd_verify(args: argparse.Namespace) -> int:
    def progress(done: int, total: int) -> None:
        if not args.json and (done == total or done % 50 == 0):
            _err(f"checked {done}/{total} reports")

    if args.data is not None:  # as that node: signed fetches, its own network policy

        async def as_node(services: Services) -> Verdict:
            return await verify_rollup(
                args.url,
                allow_private_network=services.settings.allow_private_network,
                progress=progress,
                transport=services.transport,
                signer=await services.fetch_signer(),
            )

        verdict = await _with_services(args, as_node)
    else:
        verdict = await verify_rollup(
            args.url, allow_private_network=args.allow_private_network, progress=progress
        )
    if args.json:
        _out(json.dumps(verdict.as_json()))
    else:
        _out(
            ("VERIFIED" if verdict.ok else "MISMATCH")
            + f": {verdict.verified}/{verdict.sources} reports check out"
        )
        for problem in verdict.problems:
            _out(f"- {problem['source']}: {problem['problem']}")
    return 0 if verdict.ok else 1


async def cmd_block(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        if args.sub == "domain":
            domain = await block_domain(services, args.target, args.severity, args.reason)
            _out(f"{domain} {args.severity}")
        elif args.sub == "actor":
            _out(f"{await block_actor(services, args.target, args.reason)} blocked")
        elif args.sub == "import":
            text = Path(args.file).read_text("utf-8")  # noqa: ASYNC240 - a one-shot CLI read
            _out(f"imported {await import_mastodon_csv(services, text)} domain blocks")
        else:
            async with services.db.read() as session:
                domains = await moderation_repo.domain_blocks(session)
                actors = await moderation_repo.actor_blocks(session)
            if args.json:
                _out(
                    json.dumps(
                        {
                            "domains": [
                                {"domain": d.host, "severity": d.severity, "reason": d.reason}
                                for d in domains
                            ],
                            "actors": [{"actor": a.actor, "reason": a.reason} for a in actors],
                        }
                    )
                )
            else:
                for d in domains:
                    _out(f"{d.host}\t{d.severity}\t{d.reason or ''}")
                for a in actors:
                    _out(f"{a.actor}\tactor\t{a.reason or ''}")
        return 0

    return await _with_services(args, action)


async def cmd_unblock(args: argparse.Namespace) -> int:
    async def action(services: Services) -> int:
        if not await unblock(services, args.target):
            raise CommandError(f"{args.target} is not blocked")
        _out(f"{args.target} unblocked")
        return 0

    return await _with_services(args, action)


async def cmd_backup(args: argparse.Namespace) -> int:
    from node.ops.backup.archive import BackupError, create_backup, read_passphrase

    try:
        passphrase = read_passphrase(args.passphrase_file)
        result = await create_backup(_settings(args), Path(args.out), passphrase, progress=_err)
    except BackupError as exc:
        raise CommandError(str(exc)) from exc
    _out(result.summary())
    return 0


async def cmd_restore(args: argparse.Namespace) -> int:
    from node.ops.backup.archive import BackupError, read_passphrase, restore_backup

    try:
        passphrase = read_passphrase(args.passphrase_file)
        result = await restore_backup(Path(args.backup), Path(args.data), passphrase, progress=_err)
    except BackupError as exc:
        raise CommandError(str(exc)) from exc
    for warning in result.warnings:
        _err(f"warning: {warning}")
    _out(result.summary())
    return 0


async def cmd_demo(args: argparse.Namespace) -> int:
    from node.ops.demo.script import run_demo

    return await run_demo(
        base_port=args.base_port, directory=Path(args.dir), exit_after_script=args.exit_after_script
    )


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
    p.add_argument("--chapter", help="the local chapter the member belongs to")
    p.add_argument(
        "--role",
        default="member",
        choices=["member", "organiser", "admin"],
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

    p = sub.add_parser("serve", help="serve the node over HTTP (and run its workers)")
    data_arg(p)
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, help="0: HTTP only (run `chapterhouse worker` beside it)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run delivery, inbox handling and rollups (no HTTP)")
    data_arg(p)
    p.set_defaults(func=cmd_worker)

    for name, func, help_text in (
        ("follow", cmd_follow, "follow a chapter or account by handle or URL"),
        ("unfollow", cmd_unfollow, "stop following a chapter or account"),
    ):
        p = sub.add_parser(name, help=help_text)
        data_arg(p)
        p.add_argument("--as", dest="as_name", required=True, metavar="LOCALNAME")
        p.add_argument("target", metavar="HANDLE_OR_URL")
        p.set_defaults(func=func)

    actions = sub.add_parser("action", help="publish and manage action calls").add_subparsers(
        dest="sub", required=True
    )

    def call_options(p: argparse.ArgumentParser, *, creating: bool) -> None:
        data_arg(p)
        p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
        p.add_argument("--title", required=creating)
        p.add_argument(
            "--start",
            required=creating,
            help="RFC 3339 with offset, e.g. 2027-04-12T10:00:00+01:00",
        )
        p.add_argument("--end", required=creating, help="RFC 3339 with offset, after --start")
        p.add_argument("--timezone", help="IANA time zone, e.g. Europe/London")
        p.add_argument("--place", help="where people meet")
        p.add_argument("--address", help="street address of the place")
        p.add_argument("--online-url", dest="online_url", help="link for online actions")
        p.add_argument("--capacity", type=int, help="how many people can take part")
        p.add_argument("--goal", help="what the action is for, in one line")
        p.add_argument("--description", help="details (HTML is sanitised)")
        p.add_argument(
            "--target",
            action="append",
            metavar="METRIC=AMOUNT:UNIT",
            help="e.g. participants=50:people (repeatable)",
        )
        p.add_argument("--tag", action="append", help="hashtag without # (repeatable)")
        p.add_argument("--json", action="store_true", help="print the call as JSON")

    p = actions.add_parser("create", help="publish an action call (prints its id)")
    call_options(p, creating=True)
    p.add_argument("--chapter", required=True)
    p.set_defaults(func=cmd_action_create)
    p = actions.add_parser("update", help="edit an action call; followers get an Update")
    p.add_argument("call_id", metavar="CALL_ID")
    call_options(p, creating=False)
    p.set_defaults(func=cmd_action_update)
    p = actions.add_parser("cancel", help="cancel an action call; followers get a Delete")
    p.add_argument("call_id", metavar="CALL_ID")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_action_cancel)
    p = actions.add_parser("list", help="list a chapter's action calls")
    data_arg(p)
    p.add_argument("--chapter", required=True)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_action_list)

    p = actions.add_parser(
        "adopt", help="take up a campaign's call in a chapter (prints the new call's id)"
    )
    p.add_argument("call", metavar="CALL_URL")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--chapter", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_action_adopt)

    campaign = sub.add_parser("campaign", help="manage campaigns").add_subparsers(
        dest="sub", required=True
    )
    p = campaign.add_parser("create", help="create a campaign (prints its actor id)")
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--title")
    p.add_argument("--summary")
    p.set_defaults(func=cmd_campaign_create)

    reports = sub.add_parser("report", help="report what an action achieved").add_subparsers(
        dest="sub", required=True
    )
    for name, func, help_text in (
        ("create", cmd_report_create, "report on an action call (prints the report's id)"),
        ("update", cmd_report_update, "correct a report (the newest version counts)"),
        ("retract", cmd_report_retract, "withdraw a report from every total"),
    ):
        p = reports.add_parser(name, help=help_text)
        if name == "create":
            p.add_argument("--call", required=True, metavar="CALL_ID")
        else:
            p.add_argument("report_id", metavar="REPORT_ID")
        data_arg(p)
        p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
        if name != "retract":
            p.add_argument(
                "--metric",
                action="append",
                metavar="METRIC=VALUE:UNIT",
                help="e.g. participants=42:people (repeatable)",
            )
            p.add_argument(
                "--method", default="counted", help="counted, estimated or self_reported"
            )
            p.add_argument("--text", help="the human sentence followers see")
        p.set_defaults(func=func)

    p = sub.add_parser("totals", help="a campaign's totals")
    p.add_argument("campaign", metavar="CAMPAIGN")
    data_arg(p)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_totals)

    p = sub.add_parser(
        "verify",
        help="check a rollup against every report it counts (exit 0 only if all check out)",
    )
    p.add_argument("url", metavar="URL")
    p.add_argument(
        "--allow-private-network", action="store_true", help="allow loopback/private addresses"
    )
    p.add_argument(
        "--data",
        metavar="DIR",
        help="verify as this node: fetches are signed by its instance actor, so chapters that "
        "require signed fetches (authorized fetch) answer",
    )
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("rsvp", help="take part in an action call (or --leave it)")
    p.add_argument("call", metavar="CALL_URL")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="MEMBER")
    p.add_argument("--leave", action="store_true", help="withdraw instead")
    p.set_defaults(func=cmd_rsvp)

    p = sub.add_parser("feed", help="action calls of the chapters a member follows")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="MEMBER")
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--per-page", dest="per_page", type=int, default=20)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_feed)

    p = sub.add_parser("commitments", help="a member's RSVPs and their answers")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="MEMBER")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_commitments)

    block = sub.add_parser("block", help="block domains and actors (admins)").add_subparsers(
        dest="sub", required=True
    )
    p = block.add_parser(
        "domain", help="suspend (refuse everything) or silence (keep out of feeds) a domain"
    )
    p.add_argument("target", metavar="DOMAIN")
    data_arg(p)
    p.add_argument("--severity", default="suspend", choices=["suspend", "silence"])
    p.add_argument("--reason")
    p.set_defaults(func=cmd_block)
    p = block.add_parser("actor", help="refuse everything from one actor")
    p.add_argument("target", metavar="ACTOR_URL")
    data_arg(p)
    p.add_argument("--reason")
    p.set_defaults(func=cmd_block)
    p = block.add_parser(
        "import", help="import a Mastodon domain-block CSV (#domain,#severity,...)"
    )
    p.add_argument("file", metavar="FILE.csv")
    data_arg(p)
    p.set_defaults(func=cmd_block)
    p = block.add_parser("list", help="list blocks")
    data_arg(p)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_block)
    p = sub.add_parser("unblock", help="lift a domain or actor block")
    p.add_argument("target", metavar="DOMAIN_OR_ACTOR")
    data_arg(p)
    p.set_defaults(func=cmd_unblock)

    keys = sub.add_parser("keys", help="manage a local actor's keys").add_subparsers(
        dest="sub", required=True
    )
    p = keys.add_parser("rotate", help="replace an actor's keys and tell its followers")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="NAME")
    p.add_argument(
        "--assertion-key",
        action="store_true",
        help="also replace the Ed25519 key that signs objects (earlier proofs stop verifying)",
    )
    p.set_defaults(func=cmd_keys_rotate)

    p = sub.add_parser("backup", help="write an encrypted backup of the node (keys included)")
    data_arg(p)
    p.add_argument("out", metavar="OUT", help="the backup file to write")
    p.add_argument(
        "--passphrase-file",
        metavar="F",
        help="file whose first line is the passphrase (else CHAPTERHOUSE_BACKUP_PASSPHRASE)",
    )
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="restore a backup into a new data directory")
    p.add_argument("backup", metavar="OUT", help="the backup file to read")
    data_arg(p)
    p.add_argument(
        "--passphrase-file",
        metavar="F",
        help="file whose first line is the passphrase (else CHAPTERHOUSE_BACKUP_PASSPHRASE)",
    )
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser(
        "demo",
        help="run a local federation (a campaign, three chapters) and play a day of action",
    )
    p.add_argument(
        "--base-port",
        type=int,
        default=8100,
        help="the campaign node's port; the chapters take the next three (default 8100)",
    )
    p.add_argument(
        "--dir",
        default="var/demo",
        help="the nodes' data (default var/demo); an earlier demo's directory there is replaced",
    )
    p.add_argument(
        "--exit-after-script",
        action="store_true",
        help="stop the nodes and exit once the day has played (instead of serving until Ctrl-C)",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("following", help="list whom a local actor follows, with the state")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="LOCALNAME")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_following)

    # `deliveries` lists; `deliveries retry` re-queues. `list` may be named but need not be,
    # so the listing options live on both `deliveries` and `deliveries list`; the copies
    # default to SUPPRESS so that an option given on one side is not reset by the other.
    deliveries = sub.add_parser(
        "deliveries",
        help="list the delivery queue (pending, failing, dead) or re-queue failed deliveries",
        description="List deliveries, newest first (default: pending, failing and dead; "
        "failing = pending after at least one failed attempt), or re-queue them with `retry`.",
    )

    def listing_options(p: argparse.ArgumentParser, default: Any) -> None:
        p.add_argument(
            "--data",
            metavar="DIR",
            default=argparse.SUPPRESS,
            help="the node's data directory (required)",
        )
        p.add_argument(
            "--state",
            action="append",
            choices=["pending", "failing", "dead", "sent"],
            default=default,
            help="show rows in this state (repeatable; default: pending, failing, dead)",
        )
        p.add_argument(
            "--limit",
            type=_positive_int,
            metavar="N",
            default=default,
            help=f"show at most N rows (default {DELIVERY_LIST_LIMIT})",
        )
        p.add_argument(
            "--json",
            action="store_true",
            default=argparse.SUPPRESS if default is argparse.SUPPRESS else False,
            help="one JSON document on stdout",
        )

    listing_options(deliveries, None)
    delivery_actions = deliveries.add_subparsers(dest="sub", metavar="[list | retry]")
    listing = delivery_actions.add_parser("list", help="list deliveries (the default)")
    listing_options(listing, argparse.SUPPRESS)
    retry = delivery_actions.add_parser(
        "retry",
        help="re-queue dead or failing deliveries (prints how many)",
        description="Put dead or failing deliveries back in the queue, due now, with their "
        "attempt count reset. Give delivery IDs, or --all-dead, or --host HOST.",
    )
    retry.add_argument("ids", nargs="*", type=int, metavar="ID", help="delivery ids")
    retry.add_argument(
        "--data",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the node's data directory (required)",
    )
    retry.add_argument("--all-dead", action="store_true", help="every dead delivery")
    retry.add_argument("--host", help="the dead and failing deliveries to this host[:port]")
    retry.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help='print {"requeued": N}'
    )
    deliveries.set_defaults(func=_deliveries_command(deliveries, retry))
    return parser


def _run(args: argparse.Namespace, coro: Coroutine[Any, Any, int]) -> int:
    """Long-running commands (``serve``, ``worker``) run on uvloop when the node's
    ``event_loop`` setting asks for it."""
    if args.command in {"serve", "worker"}:
        try:
            wanted = _settings(args).event_loop
        except (CommandError, ConfigError):
            wanted = "asyncio"  # the command itself reports the problem
        if wanted == "uvloop":
            import uvloop

            return uvloop.run(coro)
    return asyncio.run(coro)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "serve":
        configure_logging(os.environ.get("CHAPTERHOUSE_LOG_LEVEL", "WARNING"))
    try:
        code: int = _run(args, args.func(args))
        return code
    except (
        CommandError,
        ConfigError,
        FollowError,
        AlreadyExists,
        MalformedDocument,
        ValueError,
        FieldError,
        Forbidden,
        NotFoundError,
        RsvpError,
        OSError,
    ) as exc:
        _err(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
