"""Remote follow between Chapterhouse nodes: WebFinger's subscribe template, another node's
"Follow from my server" sending a member home to ``/authorize_interaction`` where they confirm,
an unreachable server told apart from one without remote follow, and Unfollow on ``/me``."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

from protocol.webfinger import REMOTE_FOLLOW_REL
from storage.models.follow import ACCEPTED
from storage.repositories import follows as follow_repo
from tests.federation.conftest import follow_and_wait
from tests.rig.hostile import HostileServer
from tests.rig.http import get_json
from tests.rig.nodes import Node, eventually, free_port
from tests.rig.signin import browser, csrf, get, login, post, set_password

FLASH = re.compile(r'<p class="flash" role="status">(.*?)</p>', re.DOTALL)


def _flash(page: str) -> str:
    found = FLASH.search(page)
    assert found, "the page shows no message"
    return html.unescape(found.group(1))


async def _follow_row(node: Node, follower: str, target: str):
    async with node.services.db.read() as session:
        return await follow_repo.follow_between(session, follower, target)


async def _remote_follow_form(node: Node, chapter: str, handle: str):
    """An anonymous visitor of ``chapter``'s page on ``node`` asks to follow from ``handle``:
    the answer, and the message the page then shows (if it sent them back)."""
    page = node.services.ids.actor(chapter)
    async with browser() as visitor:
        token = await csrf(visitor, page)
        answer = await post(visitor, f"{page}/remote-follow", {"csrf": token, "handle": handle})
        if answer.status != 303:
            return answer, ""
        assert answer.location == page, answer.location
        return answer, _flash((await get(visitor, page)).text)


async def test_webfinger_advertises_the_subscribe_template(nodes):
    node = await nodes()
    await node.member("alice")
    jrd = await get_json(
        f"{node.base_url}/.well-known/webfinger?resource=acct:alice@{node.authority}",
        accept="application/jrd+json",
    )
    links = [link for link in jrd["links"] if link.get("rel") == REMOTE_FOLLOW_REL]
    assert links == [
        {"rel": REMOTE_FOLLOW_REL, "template": f"{node.base_url}/authorize_interaction?uri={{uri}}"}
    ], jrd


async def test_follow_from_my_server_sends_the_member_home_to_confirm(nodes):
    home, there = await nodes(), await nodes()
    alice = (await home.member("alice")).actor
    await set_password(home, "alice")
    chapter = (await there.chapter("greenpark", title="Green Park Clean-up Crew")).actor

    # On the chapter's node, the visitor gives their handle on their own node...
    answer, _ = await _remote_follow_form(there, "greenpark", f"alice@{home.authority}")
    assert answer.status == 302, answer
    location = answer.location or ""
    assert location.startswith(f"{home.base_url}/authorize_interaction?uri="), location
    assert parse_qs(urlsplit(location).query)["uri"] == [f"acct:greenpark@{there.authority}"]

    async with browser() as http:
        # ...lands on their own node, signs in, and comes back to the same page.
        first = await get(http, location)
        assert (first.status, first.location) == (303, "/login"), first
        signed_in = await login(http, home, "alice")
        assert signed_in.status == 303, signed_in
        assert f"{home.base_url}{signed_in.location}" == location, signed_in.location
        confirm = await get(http, location)
        assert confirm.status == 200, confirm.text
        assert "Follow Green Park Clean-up Crew?" in html.unescape(confirm.text)
        assert f"@greenpark@{there.authority}" in confirm.text
        # The GET alone follows nobody.
        assert await _follow_row(home, alice.ap_id, chapter.ap_id) is None
        uri = re.search(r'name="uri" value="([^"]+)"', confirm.text)
        assert uri and html.unescape(uri.group(1)) == chapter.ap_id
        token = re.search(r'name="csrf" value="([^"]+)"', confirm.text)
        assert token
        # Without the form's CSRF token nothing happens.
        forged = await post(http, f"{home.base_url}/authorize_interaction", {"uri": chapter.ap_id})
        assert forged.status == 403, forged
        done = await post(
            http,
            f"{home.base_url}/authorize_interaction",
            {"csrf": token.group(1), "uri": chapter.ap_id},
        )
        assert (done.status, done.location) == (303, "/me"), done

    async def established() -> bool:
        mine = await _follow_row(home, alice.ap_id, chapter.ap_id)
        theirs = await _follow_row(there, alice.ap_id, chapter.ap_id)
        return (
            mine is not None
            and mine.state == ACCEPTED
            and theirs is not None
            and theirs.state == ACCEPTED
        )

    await eventually(
        established, timeout=30, what="the Follow to reach the chapter and be accepted"
    )


async def test_unreachable_and_no_remote_follow_are_different_messages(nodes):
    home, there = await nodes(), await nodes()
    await home.member("alice")
    await set_password(home, "alice")
    await there.chapter("greenpark")
    silent = f"127.0.0.1:{free_port()}"  # nothing listens there
    plain = await HostileServer().start()  # a server whose WebFinger has no subscribe link
    try:
        plain.serve_json(
            "/.well-known/webfinger",
            {"subject": "acct:mallory", "links": []},
            content_type="application/jrd+json",
        )
        _, message = await _remote_follow_form(there, "greenpark", f"mallory@{silent}")
        assert message.startswith(f"{silent} could not be reached"), message
        _, message = await _remote_follow_form(there, "greenpark", f"mallory@{plain.authority}")
        assert message.startswith(f"{plain.authority} does not offer remote following"), message
        # A Chapterhouse node offers it.
        answer, _ = await _remote_follow_form(there, "greenpark", f"alice@{home.authority}")
        assert answer.status == 302 and "/authorize_interaction?uri=" in (answer.location or "")

        # The member's own node tells the same apart on its confirmation page.
        async with browser() as http:
            assert (await login(http, home, "alice")).status == 303
            page = await get(http, f"{home.base_url}/authorize_interaction?uri=acct:x@{silent}")
            assert page.status == 502 and f"{silent} could not be reached" in page.text
            page = await get(
                http, f"{home.base_url}/authorize_interaction?uri=mallory@{plain.authority}"
            )
            assert page.status == 404 and "could not be reached" not in page.text, page.text
            page = await get(http, f"{home.base_url}/authorize_interaction?uri=not%20a%20handle")
            assert page.status == 400, page.text
            page = await get(http, f"{home.base_url}/authorize_interaction")
            assert page.status == 400, page.text
            assert 'action="/authorize_interaction"' not in page.text  # nothing to confirm
    finally:
        await plain.stop()


async def test_me_has_unfollow_for_local_and_remote_follows(nodes):
    home, there = await nodes(), await nodes()
    alice = (await home.member("alice")).actor
    await set_password(home, "alice")
    local = (await home.chapter("riverside", title="Riverside")).actor
    remote = (await there.chapter("greenpark")).actor
    await follow_and_wait(home, "alice", local.ap_id)
    await follow_and_wait(home, "alice", remote.ap_id)
    assert (await _follow_row(there, alice.ap_id, remote.ap_id)).state == ACCEPTED

    async with browser() as http:
        assert (await login(http, home, "alice")).status == 303
        me = await get(http, f"{home.base_url}/me")
        targets = re.findall(
            r'<form class="inline" method="post" action="/me/unfollow">'
            r'<input type="hidden" name="csrf" value="[^"]+">'
            r'<input type="hidden" name="target" value="([^"]+)">',
            me.text,
        )
        assert sorted(targets) == sorted([local.ap_id, remote.ap_id]), me.text
        token = await csrf(http, f"{home.base_url}/me")
        for target in targets:
            answer = await post(
                http,
                f"{home.base_url}/me/unfollow",
                {"csrf": token, "target": target},
                headers={"Referer": f"{home.base_url}/me"},
            )
            assert answer.status == 303, answer
            assert _flash((await get(http, f"{home.base_url}/me")).text) == "Unfollowed."
        me = await get(http, f"{home.base_url}/me")
        assert 'action="/me/unfollow"' not in me.text

    assert await _follow_row(home, alice.ap_id, local.ap_id) is None
    assert await _follow_row(home, alice.ap_id, remote.ap_id) is None

    async def undone() -> bool:  # the Undo{Follow} reached the remote chapter
        return await _follow_row(there, alice.ap_id, remote.ap_id) is None

    await eventually(undone, timeout=30, what="the remote chapter to drop the follower")
