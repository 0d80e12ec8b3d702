"""The contract's commands through the real command line, on a real node's data:
``member add --email``, ``member update --email/--reminders`` (refusing what is not an address,
a line break above all) and ``notifications --as MEMBER [--json] [--mark-read]``."""

from __future__ import annotations

import json

from node.features.notifications.kinds import Kind
from storage.repositories import actors as actor_repo
from tests.rig.nodes import acli
from tests.rig.notifying import organiser_and_call, tell


async def _run(node, *args: str, check: bool = True):
    return await acli(*args, "--data", str(node.data_dir), env=node.cli_env, check=check)


async def _member(node, name: str):
    async with node.services.db.read() as session:
        return await actor_repo.local_actor_by_name(session, name)


async def test_member_add_and_update_set_the_address_and_refuse_bad_ones(nodes):
    node = await nodes()
    await node.chapter("greenpark")
    added = await _run(node, "member", "add", "bo", "--email", "bo@example.org")
    assert added.stdout.splitlines()[0].endswith("/actors/bo")
    bo = await _member(node, "bo")
    assert bo is not None and bo.email == "bo@example.org" and bo.reminders is True

    for bad in ("eve@example.org\r\nBcc: victim@example.org", "Eve <eve@example.org>", "eve"):
        refused = await _run(node, "member", "add", "eve", "--email", bad, check=False)
        assert refused.returncode == 1, refused
        assert refused.stderr.startswith("error: ") and "address" in refused.stderr
        assert await _member(node, "eve") is None  # nothing made

    updated = await _run(
        node, "member", "update", "bo", "--email", "bo@new.example.org", "--reminders", "off"
    )
    assert updated.stdout.strip() == "bo email=bo@new.example.org reminders=off"
    bo = await _member(node, "bo")
    assert bo is not None and bo.email == "bo@new.example.org" and bo.reminders is False

    injected = await _run(
        node, "member", "update", "bo", "--email", "x@example.org\nBcc: y@example.org", check=False
    )
    assert injected.returncode == 1 and "line breaks" in injected.stderr
    cleared = await _run(node, "member", "update", "bo", "--email", "", "--reminders", "on")
    assert cleared.stdout.strip() == "bo email=- reminders=on"
    bo = await _member(node, "bo")
    assert bo is not None and bo.email is None and bo.reminders is True

    nothing = await _run(node, "member", "update", "bo", check=False)
    assert nothing.returncode == 1 and "nothing to change" in nothing.stderr
    ghost = await _run(node, "member", "update", "ghost", "--email", "g@example.org", check=False)
    assert ghost.returncode == 1 and "no member named 'ghost'" in ghost.stderr
    chapter = await _run(
        node, "member", "update", "greenpark", "--email", "g@example.org", check=False
    )
    assert chapter.returncode == 1
    usage = await _run(node, "member", "update", "bo", "--reminders", "maybe", check=False)
    assert usage.returncode == 2


async def test_notifications_lists_newest_first_and_marks_read(nodes):
    node = await nodes()
    _, call = await organiser_and_call(node)
    await node.member("ada", chapter="greenpark")
    first = await tell(node, "ada", Kind.ACCEPTED, call)
    second = await tell(node, "ada", Kind.CHANGED, call)
    assert first is not None and second is not None

    listed = json.loads((await _run(node, "notifications", "--as", "ada", "--json")).stdout)
    assert [n["id"] for n in listed] == [second.id, first.id]
    assert listed[1]["subject"] == "You're going: Canal clean-up"
    assert {"id", "kind", "subject", "text", "call", "url", "createdAt", "read"} <= set(listed[0])
    assert not any(n["read"] for n in listed)

    human = await _run(node, "notifications", "--as", "ada", "--mark-read")
    lines = human.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"* {second.id} ")
    assert "Canal clean-up has changed." in lines[0] and call.ap_id in lines[0]
    assert "marked 2 read" in human.stderr

    unread = await _run(node, "notifications", "--as", "ada", "--unread", "--json")
    assert json.loads(unread.stdout) == []
    again = await _run(node, "notifications", "--as", "ada")
    assert all(line.startswith("  ") for line in again.stdout.splitlines())

    chapter = await _run(node, "notifications", "--as", "greenpark", check=False)
    assert chapter.returncode == 1 and "not a member" in chapter.stderr
    ghost = await _run(node, "notifications", "--as", "ghost", check=False)
    assert ghost.returncode == 1
