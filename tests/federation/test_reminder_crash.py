"""Reminders survive ``kill -9``: sent once, none lost, none repeated.

The chapter's node is two real processes on one SQLite file, ``chapterhouse serve`` and
``chapterhouse worker``, both running the reminder sweep (every 0.2 s): a reminder is sent by
whichever claims it first, never by both. Reminders come one minute before a call starts
(``CHAPTERHOUSE_REMINDER_OFFSETS_MINUTES=1``), to hal (a member here: in-app and e-mail,
through a real SMTP server on loopback) and to bovine (an independent ActivityPub peer: a
direct message).

Call A's reminder falls due and is sent; both processes are killed with SIGKILL right after
it. Call B's falls due while the node is down. After the restart B's reminder goes out once,
and A's is not sent again. It fails if reminders were scheduled in memory (B's would be
lost), if a sent one were not recorded with its notifications (A's would go again), or if
the two processes could both claim one (two of each).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.features.notifications.notify import NOTIFICATION_EMAIL
from node.ops.cluster import spawn, stop_processes
from storage.engine import open_database, sqlite_url
from storage.models import ActionCall, Delivery, FollowUp, Notification, Reminder
from tests.interop.peer import BovinePeer
from tests.rig.api import call_api
from tests.rig.nodes import NodeProcess, acli, eventually, free_port
from tests.rig.reminders import NOTICE, call_body
from tests.rig.smtp import MailServer, mail_server  # noqa: F401 - the fixture

HAL = "hal@example.org"
T = TypeVar("T")


@pytest.fixture
def chapter_node(tmp_path: Path) -> Iterator[NodeProcess]:
    node = NodeProcess(tmp_path / "chapter", free_port())
    yield node
    node.stop(signal.SIGKILL)


@pytest.fixture
async def bovine_peer():
    peer = BovinePeer()
    await peer.start()
    yield peer
    await peer.stop()


async def _read(node: NodeProcess, query: Callable[[AsyncSession], Awaitable[T]]) -> T:
    db = open_database(sqlite_url(str(node.data_dir / "chapterhouse.db")))
    try:
        async with db.read() as session:
            return await query(session)
    finally:
        await db.dispose()


async def _reminders(session: AsyncSession) -> dict[str, list[tuple[str, str | None]]]:
    """Per call: (recipient, e-mail state) of every reminder notification."""
    rows = await session.execute(
        select(Notification.call, Notification.recipient, Notification.email_state)
        .where(Notification.kind == "reminder")
        .order_by(Notification.id)
    )
    out: dict[str, list[tuple[str, str | None]]] = {}
    for call, recipient, email in rows:
        out.setdefault(call, []).append((recipient, email))
    return out


async def _schedule(session: AsyncSession) -> dict[str, list[str]]:
    rows = await session.execute(
        select(ActionCall.ap_id, Reminder.state)
        .join(ActionCall, ActionCall.id == Reminder.call_id)
        .order_by(Reminder.id)
    )
    out: dict[str, list[str]] = {}
    for call, state in rows:
        out.setdefault(call, []).append(state)
    return out


async def _idle(session: AsyncSession) -> bool:
    """Nothing left to send: no delivery, e-mail follow-up or e-mail state pending."""
    deliveries = await session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.state == "pending")
    )
    follow_ups = await session.scalar(
        select(func.count())
        .select_from(FollowUp)
        .where(FollowUp.state == "pending", FollowUp.kind == NOTIFICATION_EMAIL)
    )
    mails = await session.scalar(
        select(func.count()).select_from(Notification).where(Notification.email_state == "pending")
    )
    return not deliveries and not follow_ups and not mails


def _dm_ids(peer: BovinePeer, call: str) -> list[str]:
    """Ids of the reminder messages bovine received (and verified) about ``call``; a delivery
    repeated after a crash would repeat an id."""
    return [
        r.activity["object"]["id"]
        for r in peer.of_type("Create")
        if r.verified
        and isinstance(r.activity.get("object"), dict)
        and r.activity["object"].get(NOTICE) == "reminder"
        and r.activity["object"].get("url") == call
    ]


def _mails(server: MailServer) -> list[str]:
    return [m.subject for m in server.to(HAL) if m.subject.startswith("Reminder")]


async def test_sigkill_around_the_reminder_times_then_restart_sends_each_once(
    chapter_node: NodeProcess,
    bovine_peer: BovinePeer,
    mail_server: MailServer,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    node = chapter_node
    node.env.update(
        {
            "CHAPTERHOUSE_REMINDER_OFFSETS_MINUTES": "1",
            "CHAPTERHOUSE_REMINDER_SWEEP_SECONDS": "0.2",
            "CHAPTERHOUSE_SMTP_HOST": mail_server.host,
            "CHAPTERHOUSE_SMTP_PORT": str(mail_server.port),
            "CHAPTERHOUSE_SMTP_SECURITY": "none",
        }
    )
    data = str(node.data_dir)
    node.init()
    chapter = (await acli("chapter", "create", "greenpark", "--data", data)).stdout.strip()
    olga = (
        await acli(
            "member", "add", "olga", "--data", data, "--chapter", "greenpark",
            "--role", "organiser",
        )
    ).stdout.splitlines()[1].removeprefix("token: ")  # fmt: skip
    hal = (
        await acli(
            "member", "add", "hal", "--data", data, "--chapter", "greenpark",
            "--role", "member", "--email", HAL,
        )
    ).stdout.splitlines()[1].removeprefix("token: ")  # fmt: skip
    worker_env = {**os.environ, **node.environment()}

    def start_both() -> list:
        node.start()
        return [spawn(["worker", "--data", data], env=worker_env, log=tmp_path / "worker.log")]

    workers = await asyncio.to_thread(start_both)
    try:
        # A's reminder is due in 12 s, B's in 30 s (a minute before each starts).
        now = datetime.now(UTC)
        calls = {}
        for name, due in (("A", 12), ("B", 30)):
            start = now + timedelta(minutes=1, seconds=due)
            status, made = await call_api(
                node.base_url,
                olga,
                "POST",
                "/api/v1/chapters/greenpark/actions",
                call_body(start, f"Clean-up {name}"),
            )
            assert status == 201, made
            calls[name] = (made["id"], start - timedelta(minutes=1))
        for call_id, _ in calls.values():
            status, body = await call_api(
                node.base_url, hal, "POST", "/api/v1/rsvps", {"call": call_id}
            )
            assert status in (200, 201, 202), body
            join = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{bovine_peer.origin}/join/{call_id.rsplit('/', 1)[1]}",
                "type": "Join",
                "actor": bovine_peer.actor_id,
                "object": call_id,
                "to": [chapter],
            }
            assert (await bovine_peer.post(f"{node.base_url}/inbox", join)).status == 202
        a, b = calls["A"][0], calls["B"][0]

        async def a_sent() -> bool:
            told = (await _read(node, _reminders)).get(a, [])
            return len(told) == 2 and bool(_dm_ids(bovine_peer, a)) and bool(_mails(mail_server))

        await eventually(a_sent, timeout=40, interval=0.1, what="A's reminder to go out")

        async def idle() -> bool:
            return await _read(node, _idle)

        await eventually(idle, timeout=20, interval=0.1, what="A's e-mail and message to be done")
        assert datetime.now(UTC) < calls["B"][1], "too slow: B's reminder fell due before the kill"
        await asyncio.to_thread(node.stop, signal.SIGKILL)
        stop_processes(workers, signal.SIGKILL)

        schedule = await _read(node, _schedule)
        assert schedule == {a: ["sent"], b: ["pending"]}, schedule
        # The node is down while B's reminder falls due.
        wait = (calls["B"][1] - datetime.now(UTC)).total_seconds() + 2
        await asyncio.sleep(max(wait, 0))
        workers = await asyncio.to_thread(start_both)

        async def b_sent() -> bool:
            told = (await _read(node, _reminders)).get(b, [])
            return (
                len(told) == 2 and bool(_dm_ids(bovine_peer, b)) and len(_mails(mail_server)) == 2
            )

        await eventually(b_sent, timeout=40, interval=0.1, what="B's reminder after the restart")
        await eventually(idle, timeout=20, interval=0.1, what="B's e-mail and message to be done")
        await asyncio.sleep(1.0)  # five more sweeps in each process

        told = await _read(node, _reminders)
        hal_id = f"{node.base_url}/actors/hal"
        for call in (a, b):
            assert sorted(r for r, _ in told[call]) == sorted([hal_id, bovine_peer.actor_id])
            assert dict(told[call])[hal_id] == "sent"  # its e-mail went out
            assert len(_dm_ids(bovine_peer, call)) == 1, call
        assert sorted(_mails(mail_server)) == [
            "Reminder: Clean-up A in 1 minute",
            "Reminder: Clean-up B in 1 minute",
        ]
        assert await _read(node, _schedule) == {a: ["sent"], b: ["sent"]}
    finally:
        stop_processes(workers, signal.SIGKILL)
