"""When reminders go out: the node's offsets (``reminder_offsets_minutes``, also from
``CHAPTERHOUSE_REMINDER_OFFSETS_MINUTES``), and a chapter's own, set with ``chapterhouse chapter
update --reminder-offsets`` (``default`` gives the node's back, ``none`` turns them off)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from node.features.notifications.reminders import sweep
from node.runtime.clock import FrozenClock
from node.runtime.config import ConfigError, load_settings
from storage.repositories import actors as actor_repo
from tests.rig.nodes import Node, acli
from tests.rig.reminders import call_body, create_call, notices, reminder_rows, rsvp


def test_the_node_offsets_come_from_the_environment(tmp_path):
    env = {"CHAPTERHOUSE_BASE_URL": "https://chapter.example"}
    assert load_settings(tmp_path, env).reminder_offsets_minutes == (1440, 120)
    for given, read in (("1440,120", (1440, 120)), ("30, 600", (600, 30)), ("", ())):
        settings = load_settings(tmp_path, {**env, "CHAPTERHOUSE_REMINDER_OFFSETS_MINUTES": given})
        assert settings.reminder_offsets_minutes == read
    for bad in ("soon", "0", "120,-5", "99999999"):
        with pytest.raises(ConfigError, match="reminder"):
            load_settings(tmp_path, {**env, "CHAPTERHOUSE_REMINDER_OFFSETS_MINUTES": bad})


async def _chapter(node: Node, *args: str, check: bool = True, env: dict | None = None):
    return await acli(
        "chapter", "update", "greenpark", "--data", str(node.data_dir), *args,
        env={**node.cli_env, **(env or {})}, check=check,
    )  # fmt: skip


async def _stored(node: Node) -> object:
    async with node.services.db.read() as session:
        chapter = await actor_repo.local_actor_by_name(session, "greenpark")
        assert chapter is not None
        return chapter.reminder_offsets


async def test_a_chapter_sets_its_own_offsets_and_its_calls_are_reminded_by_them(nodes):
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    node = await nodes(clock=clock, reminder_offsets_minutes=(45,), reminder_sweep_seconds=0.1)
    chapter = (await node.chapter("greenpark")).actor.ap_id
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    hal = await node.member("hal")

    done = await _chapter(node, "--reminder-offsets", "15, 60")
    assert done.stdout.strip() == chapter
    assert "reminders: 60, 15 minutes before a call (the chapter's own)" in done.stderr
    assert await _stored(node) == [60, 15]

    start = clock.now() + timedelta(minutes=90)
    call_id = await create_call(node, olga.token, call_body(start))
    await rsvp(node, hal.token, call_id)
    await sweep(node.services)
    assert [(r.offset_minutes, r.state) for r in await reminder_rows(node, call_id)] == [
        (60, "pending"),
        (15, "pending"),
    ]

    # Bad lists change nothing and say why.
    for bad in ("0", "15,soon"):
        refused = await _chapter(node, "--reminder-offsets", bad, check=False)
        assert refused.returncode == 1 and "reminder offsets" in refused.stderr, refused
    assert await _stored(node) == [60, 15]
    refused = await _chapter(node, check=False)
    assert refused.returncode == 1 and "--reminder-offsets" in refused.stderr

    # The chapter changes its mind: the reminders it no longer asks for are not sent.
    await _chapter(node, "--reminder-offsets", "30")
    await sweep(node.services)
    clock.advance(start - timedelta(minutes=60) - clock.now())
    await sweep(node.services)
    assert await notices(node, "reminder") == []
    clock.advance(timedelta(minutes=30))
    await sweep(node.services)
    [told] = await notices(node, "reminder", hal.actor.ap_id)
    assert told.data["offset_minutes"] == 30
    assert [(r.offset_minutes, r.state) for r in await reminder_rows(node, call_id)] == [
        (60, "skipped"),
        (30, "sent"),
        (15, "pending"),  # skipped when due: the chapter no longer asks for it
    ]

    # "none": no reminders; "default": the node's again (as the environment gives them).
    off = await _chapter(node, "--reminder-offsets", "none")
    assert "reminders: none (the chapter's own)" in off.stderr and await _stored(node) == []
    quiet = await create_call(node, olga.token, call_body(start + timedelta(hours=1)))
    await sweep(node.services)
    assert await reminder_rows(node, quiet) == []
    back = await _chapter(
        node, "--reminder-offsets", "default", env={"CHAPTERHOUSE_REMINDER_OFFSETS_MINUTES": "90"}
    )
    assert "reminders: 90 minutes before a call (the node's)" in back.stderr
    assert await _stored(node) is None
    await sweep(node.services)  # this node runs with 45 minutes
    assert [r.offset_minutes for r in await reminder_rows(node, quiet)] == [45]
