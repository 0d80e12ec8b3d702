"""Invitation links on a real node over loopback: used once only, even by two sign-ups racing
with the same link, and not after they expire."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from node.features.actors.authz import principal_by_name
from node.features.actors.invitations import (
    InvitationGone,
    create_invitation,
    open_invitation,
    redeem_invitation,
)
from node.features.actors.local import hash_token
from storage.models import Invitation, LocalActor
from storage.repositories import actors as actor_repo
from tests.rig.nodes import acli
from tests.rig.signin import browser, csrf, get, post, signed_in_as

PASSWORD = "a long enough passphrase"


async def _invite(node) -> str:
    """A fresh link's token, made by greenpark's organiser."""
    async with node.services.db.read() as session:
        olga = await principal_by_name(session, "olga")
        chapter = await actor_repo.local_actor_by_name(session, "greenpark")
    return await create_invitation(node.services, olga, chapter, "member")


async def _chapter_with_organiser(nodes):
    node = await nodes()
    await node.chapter("greenpark")
    await node.member("olga", role="organiser", chapter="greenpark")
    return node


async def _exists(node, name: str) -> bool:
    async with node.services.db.read() as session:
        return await actor_repo.local_actor_by_name(session, name) is not None


async def _invitation(node, token: str) -> Invitation:
    async with node.services.db.read() as session:
        found = await actor_repo.invitation_by_token_hash(session, hash_token(token))
    assert found is not None
    return found


async def test_two_sign_ups_racing_with_one_link_make_one_member(nodes):
    node = await _chapter_with_organiser(nodes)
    token = await _invite(node)
    url = f"{node.base_url}/invite/{token}"
    async with browser() as nadia, browser() as nora:
        forms = [await csrf(nadia, url), await csrf(nora, url)]
        answers = await asyncio.gather(
            post(nadia, url, {"csrf": forms[0], "name": "nadia", "password": PASSWORD}),
            post(nora, url, {"csrf": forms[1], "name": "nora", "password": PASSWORD}),
        )
        assert sorted(a.status for a in answers) == [303, 410], answers
        winner, loser = ("nadia", "nora") if answers[0].status == 303 else ("nora", "nadia")
        gone = next(a for a in answers if a.status == 410)
        assert "already used or has expired" in gone.text
        assert await signed_in_as(nadia if winner == "nadia" else nora, node) == winner
        assert await signed_in_as(nora if winner == "nadia" else nadia, node) is None
    assert await _exists(node, winner)
    assert not await _exists(node, loser)  # nothing of the losing sign-up is stored
    assert (await _invitation(node, token)).used_at is not None
    async with browser() as later:  # and the link is gone for good
        again = await get(later, url)
        assert again.status == 410 and "already used or has expired" in again.text


async def test_an_expired_link_answers_410(nodes):
    node = await _chapter_with_organiser(nodes)
    token = await _invite(node)
    made = await _invitation(node, token)
    days = node.services.settings.invitation_days
    assert made.expires_at == made.created_at + timedelta(days=days)
    async with browser() as http:
        form = await csrf(http, f"{node.base_url}/invite/{token}")  # valid until now
        async with node.services.db.write() as session:
            await session.execute(
                update(Invitation)
                .where(Invitation.id == made.id)
                .values(expires_at=node.services.clock.now() - timedelta(seconds=1))
            )
        page = await get(http, f"{node.base_url}/invite/{token}")
        assert page.status == 410 and "already used or has expired" in page.text
        signup = await post(
            http,
            f"{node.base_url}/invite/{token}",
            {"csrf": form, "name": "nadia", "password": PASSWORD},
        )
        assert signup.status == 410
    assert not await _exists(node, "nadia")


async def test_a_link_from_before_expiry_lasts_invitation_days_from_its_creation(nodes):
    node = await _chapter_with_organiser(nodes)
    old, recent = await _invite(node), await _invite(node)
    now = node.services.clock.now()
    days = node.services.settings.invitation_days
    async with node.services.db.write() as session:
        for token, age in ((old, days + 1), (recent, days - 1)):
            await session.execute(
                update(Invitation)
                .where(Invitation.token_sha256 == hash_token(token))
                .values(expires_at=None, created_at=now - timedelta(days=age))
            )
    async with browser() as http:
        assert (await get(http, f"{node.base_url}/invite/{old}")).status == 410
        assert (await get(http, f"{node.base_url}/invite/{recent}")).status == 200
        assert (await get(http, f"{node.base_url}/invite/not-a-real-token")).status == 404


async def test_the_claim_itself_lets_only_one_of_two_opened_sign_ups_through(nodes):
    """Both sign-ups opened the link while it was unused: the conditional UPDATE decides."""
    node = await _chapter_with_organiser(nodes)
    token = await _invite(node)
    first = await open_invitation(node.services, token)
    second = await open_invitation(node.services, token)
    results = await asyncio.gather(
        redeem_invitation(node.services, first, "nadia", PASSWORD),
        redeem_invitation(node.services, second, "nora", PASSWORD),
        return_exceptions=True,
    )
    assert sum(isinstance(r, InvitationGone) for r in results) == 1, results
    assert sum(isinstance(r, LocalActor) for r in results) == 1, results
    assert [await _exists(node, n) for n in ("nadia", "nora")].count(True) == 1


async def test_member_invite_prints_a_link_that_expires(nodes):
    node = await _chapter_with_organiser(nodes)
    made = await acli(
        "member", "invite", "greenpark", "--as", "olga",
        "--data", str(node.data_dir), env=node.cli_env,
    )  # fmt: skip
    link = made.stdout.strip()
    assert link.startswith(f"{node.base_url}/invite/") and "expires" in made.stderr
    invitation = await _invitation(node, link.rsplit("/", 1)[1])
    assert invitation.expires_at is not None and invitation.expires_at > invitation.created_at
    async with browser() as http:
        assert (await get(http, link)).status == 200
    await node.member("bo")
    refused = await acli(
        "member", "invite", "greenpark", "--as", "bo",
        "--data", str(node.data_dir), env=node.cli_env, check=False,
    )  # fmt: skip
    assert refused.returncode == 1 and "not an organiser" in refused.stderr


async def test_a_refused_sign_up_leaves_the_link_unused(nodes):
    node = await _chapter_with_organiser(nodes)
    token = await _invite(node)
    url = f"{node.base_url}/invite/{token}"
    async with browser() as http:
        form = await csrf(http, url)
        taken = await post(http, url, {"csrf": form, "name": "olga", "password": PASSWORD})
        assert taken.status == 200 and "already exists" in taken.text
        assert (await _invitation(node, token)).used_at is None  # the claim was rolled back
        joined = await post(http, url, {"csrf": form, "name": "nadia", "password": PASSWORD})
        assert joined.status == 303 and await signed_in_as(http, node) == "nadia"
