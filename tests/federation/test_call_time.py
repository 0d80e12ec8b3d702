"""RSVPs close when a call ends: over the API (409), the CLI (exit 1) and federation (a
``Reject`` answering the Join), and nothing is stored for the refused RSVP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy import func, select

from node.federation.outbox.publish import publish
from protocol.activities import build_join
from storage.models import Commitment, Participant
from storage.models.states import CommitmentState
from storage.repositories import actions as action_repo
from tests.rig.api import call_api
from tests.rig.nodes import Node, acli, eventually


def _call(start: datetime, hours: int = 2, **extra: object) -> dict[str, object]:
    return {
        "title": "Canal clean-up",
        "start": start.isoformat(timespec="seconds"),
        "end": (start + timedelta(hours=hours)).isoformat(timespec="seconds"),
        "place": {"name": "Lock 7"},
        **extra,
    }


async def _publish(node: Node, token: str, body: dict[str, object]) -> str:
    status, call = await call_api(
        node.base_url, token, "POST", "/api/v1/chapters/greenpark/actions", body
    )
    assert status == 201, call
    return str(call["id"])


async def _participants(node: Node, call_id: str) -> int:
    async with node.services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
        assert row is not None
        return int(
            await session.scalar(
                select(func.count()).select_from(Participant).where(Participant.call_id == row.id)
            )
            or 0
        )


async def _commitments(node: Node, member_id: int) -> list[Commitment]:
    async with node.services.db.read() as session:
        return list(
            await session.scalars(select(Commitment).where(Commitment.member_id == member_id))
        )


async def _rsvp_raw(node: Node, token: str, call_id: str) -> tuple[int, str, dict]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{node.base_url}/api/v1/rsvps",
            json={"call": call_id},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp,
    ):
        return resp.status, resp.content_type, await resp.json(content_type=None)


async def test_rsvp_to_an_ended_call_is_refused_by_api_cli_and_federation(nodes):
    host, peer = await nodes(), await nodes()
    await host.chapter("greenpark", title="Green Park Clean-up Crew")
    olga = await host.member("olga", role="organiser", chapter="greenpark")
    mia = await host.member("mia")
    alice = await peer.member("alice")
    now = datetime.now(UTC)
    ended = await _publish(host, olga.token, _call(now - timedelta(hours=3)))
    coming = await _publish(host, olga.token, _call(now + timedelta(days=3)))

    # The API: 409, problem+json, naming the reason; nothing stored.
    status, media, problem = await _rsvp_raw(host, mia.token, ended)
    assert status == 409, problem
    assert media == "application/problem+json"
    assert "ended" in problem["detail"] and ended in problem["detail"], problem
    assert await _participants(host, ended) == 0
    assert await _commitments(host, mia.actor.id) == []
    # (An upcoming call of the same chapter still takes the same member's RSVP.)
    status, _, answer = await _rsvp_raw(host, mia.token, coming)
    assert (status, answer["state"]) == (200, "accepted"), answer

    # The CLI: exit 1, the reason on stderr.
    result = await acli(
        "rsvp", ended, "--data", str(host.data_dir), "--as", "mia", env=host.cli_env, check=False
    )
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "ended" in result.stderr, result.stderr
    assert await _participants(host, ended) == 0

    # Another node refuses its own member's RSVP at once (it read the call's end)...
    status, _, problem = await _rsvp_raw(peer, alice.token, ended)
    assert status == 409 and "ended" in problem["detail"], problem
    assert await _commitments(peer, alice.actor.id) == []

    # ...and a Join that arrives anyway (a node whose clock is behind, or that does not check)
    # is answered with Reject{Join}: the member's node shows "rejected", nobody is admitted.
    chapter_id = host.services.ids.actor("greenpark")
    chapter = await peer.services.resolver.actor(chapter_id)
    join_id = peer.services.activity_id()
    stamp = peer.services.clock.now()
    async with peer.services.db.write() as session:
        session.add(
            Commitment(
                member_id=alice.actor.id,
                call=ended,
                chapter=chapter_id,
                join_activity_id=join_id,
                state=CommitmentState.PENDING,
                created_at=stamp,
                updated_at=stamp,
            )
        )
        join = build_join(join_id, alice.actor.ap_id, ended, chapter_id)
        await publish(session, peer.services, alice.actor, join, [chapter.inbox])
    peer.services.wakeups.deliveries.set()

    async def answered() -> bool:
        rows = await _commitments(peer, alice.actor.id)
        return bool(rows) and rows[0].state != CommitmentState.PENDING

    await eventually(answered, timeout=30, what="the host's answer to the late Join")
    [row] = await _commitments(peer, alice.actor.id)
    assert row.state == CommitmentState.REJECTED, row.state
    assert row.reason is not None and "ended" in row.reason, row.reason
    assert await _participants(host, ended) == 0
