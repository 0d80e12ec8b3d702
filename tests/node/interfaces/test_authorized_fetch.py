"""Optional authorized fetch: ActivityPub documents only for signed GETs."""

from __future__ import annotations

import aiohttp

from node.features.following.follow import follow
from storage.repositories import follows as follow_repo
from tests.rig.nodes import eventually

AP = {"Accept": "application/activity+json"}


async def _status(url: str, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers) as r:
        return r.status


async def test_unsigned_gets_are_refused_but_federation_still_works(nodes):
    b = await nodes(authorized_fetch=True)
    a = await nodes(authorized_fetch=True)
    chapter = (await b.chapter("greenpark")).actor
    alice = (await a.member("alice")).actor
    assert await _status(chapter.ap_id, AP) == 401
    assert await _status(f"{chapter.ap_id}/followers", AP) == 401
    assert await _status(chapter.ap_id, {"Accept": "text/html"}) == 200  # browsers still see pages
    assert await _status(b.services.ids.actor("relay"), AP) == 200  # peers can check our signatures
    signer = a.services.keys.rsa_signer(alice)
    fetched = await a.services.transport.get_json(chapter.ap_id, signer=signer)
    assert fetched.document["id"] == chapter.ap_id

    await follow(a.services, "alice", chapter.ap_id)  # every fetch on the way is signed

    async def accepted() -> bool:
        async with a.services.db.read() as session:
            row = await follow_repo.follow_between(session, alice.ap_id, chapter.ap_id)
        return row is not None and row.state == "accepted"

    await eventually(accepted, what="a follow between two authorized-fetch nodes")
