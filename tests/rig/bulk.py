"""Many followers quickly: members that share one key pair, follows written directly."""

from __future__ import annotations

from datetime import UTC, datetime

from node.features.actors.local import create_actor
from storage.models import LocalActor
from storage.repositories import follows as follow_repo
from tests.rig.nodes import Node

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def bulk_members(node: Node, prefix: str, count: int) -> list[str]:
    """``count`` members on ``node`` (keys copied from one real member: key generation is slow)."""
    template = (await create_actor(node.services, f"{prefix}0", "member")).actor
    ids = [template.ap_id]
    async with node.services.db.write() as session:
        for i in range(1, count):
            name = f"{prefix}{i}"
            row = LocalActor(
                name=name,
                ap_id=node.services.ids.actor(name),
                actor_type="Person",
                kind="member",
                title=None,
                summary=None,
                manually_approves_followers=False,
                rsa_private_pem=template.rsa_private_pem,
                rsa_public_pem=template.rsa_public_pem,
                ed25519_private_pem=template.ed25519_private_pem,
                ed25519_public_multibase=template.ed25519_public_multibase,
                created_at=NOW,
            )
            session.add(row)
            ids.append(row.ap_id)
    return ids


async def add_followers(node_or_db, target: str, followers: list[tuple[str, str | None]]) -> None:
    """Accepted follows of ``target``: (follower id, delivery inbox or None for local)."""
    db = getattr(getattr(node_or_db, "services", None), "db", node_or_db)
    async with db.write() as session:
        for i, (follower, inbox) in enumerate(followers):
            await follow_repo.put_follow(
                session,
                activity_id=f"{follower}#follow-{i}",
                follower=follower,
                target=target,
                follower_inbox=inbox,
                state="accepted",
                now=NOW,
            )
