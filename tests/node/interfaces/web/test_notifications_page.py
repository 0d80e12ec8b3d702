"""A signed-in member's notifications on a real node: the list on /me, the unread count in
every page's header, "Mark all read", and the settings form (address, reminders) that refuses
an address with a line break in it."""

from __future__ import annotations

import re

from node.features.notifications.kinds import Kind
from storage.repositories import actors as actor_repo
from tests.rig.notifying import organiser_and_call, tell
from tests.rig.signin import browser, csrf, get, login, post, set_password


def _count(page: str) -> str | None:
    found = re.search(r'<strong id="unread-count">(\d+)</strong>', page)
    return found.group(1) if found else None


async def _member(node, name: str):
    async with node.services.db.read() as session:
        member = await actor_repo.local_actor_by_name(session, name)
        assert member is not None
        return member


async def test_me_lists_notifications_and_the_header_counts_the_unread(nodes):
    node = await nodes()
    _, call = await organiser_and_call(node)
    await node.member("ada", chapter="greenpark")
    await set_password(node, "ada")
    accepted = await tell(node, "ada", Kind.ACCEPTED, call)
    changed = await tell(node, "ada", Kind.CHANGED, call)
    assert accepted is not None and changed is not None
    await tell(node, "olga", Kind.NEW_PARTICIPANT, call, who="Ada")  # someone else's

    async with browser() as http:
        assert (await login(http, node, "ada")).status == 303
        me = await get(http, f"{node.base_url}/me")
        assert me.status == 200
        items = re.findall(r'<li class="(unread|read)" id="notification-(\d+)">(.*?)</li>', me.text)
        assert [(c, int(i)) for c, i, _ in items] == [
            ("unread", changed.id),
            ("unread", accepted.id),
        ]  # newest first, only ada's
        assert "Canal clean-up has changed." in items[0][2]
        assert f'href="{call.ap_id}"' in items[1][2] and "<strong>New:</strong>" in items[1][2]
        assert _count(me.text) == "2"
        front = await get(http, f"{node.base_url}/")  # every page's header
        assert _count(front.text) == "2"

        token = await csrf(http, f"{node.base_url}/me")
        done = await post(http, f"{node.base_url}/me/notifications/read", {"csrf": token})
        assert done.status == 303 and done.location == "/me#notifications"
        me = await get(http, f"{node.base_url}/me")
        assert _count(me.text) is None and "Marked 2 notifications read." in me.text
        assert 'class="unread"' not in me.text and f'id="notification-{accepted.id}"' in me.text
        # Without the form's token, nothing is marked.
        await tell(node, "ada", Kind.REMINDER, call, offset_minutes=60)
        refused = await post(http, f"{node.base_url}/me/notifications/read", {"csrf": "wrong"})
        assert refused.status == 403
        assert _count((await get(http, f"{node.base_url}/")).text) == "1"

    async with browser() as stranger:  # signed out: no count, no list
        front = await get(stranger, f"{node.base_url}/")
        assert _count(front.text) is None and "notifications-link" not in front.text
        assert (await get(stranger, f"{node.base_url}/me")).status == 303


async def test_the_settings_form_sets_the_address_and_reminders(nodes):
    node = await nodes()
    await organiser_and_call(node)
    await node.member("ada", chapter="greenpark")
    await set_password(node, "ada")
    async with browser() as http:
        assert (await login(http, node, "ada")).status == 303
        me = await get(http, f"{node.base_url}/me")
        assert 'id="email"' in me.text and "Remind me before calls I'm going to" in me.text
        token = await csrf(http, f"{node.base_url}/me")
        url = f"{node.base_url}/me/settings"
        saved = await post(
            http, url, {"csrf": token, "email": " Ada@Example.ORG ", "reminders": "off"}
        )
        assert saved.status == 303 and saved.location == "/me#settings"
        member = await _member(node, "ada")
        assert member.email == "Ada@example.org" and member.reminders is False
        me = await get(http, f"{node.base_url}/me")
        assert 'value="Ada@example.org"' in me.text and "reminders are off" in me.text

        for bad in ("ada@example.org\r\nBcc: victim@example.org", "not an address", "a@b"):
            answer = await post(http, url, {"csrf": token, "email": bad, "reminders": "on"})
            assert answer.status == 303
            page = await get(http, f"{node.base_url}/me")
            assert "Nothing was changed" in page.text, bad
            member = await _member(node, "ada")
            assert member.email == "Ada@example.org" and member.reminders is False

        odd = await post(http, url, {"csrf": token, "email": "", "reminders": "maybe"})
        assert odd.status == 400
        cleared = await post(http, url, {"csrf": token, "email": "", "reminders": "on"})
        assert cleared.status == 303
        member = await _member(node, "ada")
        assert member.email is None and member.reminders is True
        forged = await post(http, url, {"csrf": "wrong", "email": "x@example.org"})
        assert forged.status == 403
        assert (await _member(node, "ada")).email is None
