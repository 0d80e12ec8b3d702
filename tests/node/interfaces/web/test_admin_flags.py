"""Resolving abuse reports on the admin page, over plain HTTP with a signed-in session.

Each open report has its own form (CSRF token, a required note); a resolved report is listed
with who resolved it, when and the note. Without the CSRF token, without a note, twice, for an
unknown report or as a non-admin, the post is refused with a precise status and changes nothing.
"""

from __future__ import annotations

import html
import re

import aiohttp

from node.features.actors.passwords import hash_password
from storage.models import Flag
from storage.repositories import actors as actor_repo
from storage.repositories import moderation as moderation_repo
from tests.rig.nodes import Node

HTML = {"Accept": "text/html"}
PASSWORD = "correct horse battery"


async def _with_password(node: Node, name: str) -> None:
    async with node.services.db.write() as session:
        actor = await actor_repo.local_actor_by_name(session, name)
        actor.password_hash = hash_password(PASSWORD)


async def _csrf(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url, headers=HTML) as resp:
        return re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)


async def _sign_in(http: aiohttp.ClientSession, node: Node, name: str) -> None:
    token = await _csrf(http, f"{node.base_url}/login")
    async with http.post(
        f"{node.base_url}/login",
        headers=HTML,
        data={"csrf": token, "name": name, "password": PASSWORD},
    ) as resp:
        assert resp.status == 200 and str(resp.url).endswith("/me"), await resp.text()


async def _flag(node: Node, target: str) -> int:
    async with node.services.db.write() as session:
        row = await moderation_repo.add_flag(
            session,
            activity_id=None,
            reporter=f"{node.base_url}/actors/mo",
            targets=[target],
            comment="harassing members",
            source="local",
            now=node.services.clock.now(),
        )
        return row.id


async def _row(node: Node, flag_id: int) -> Flag:
    async with node.services.db.read() as session:
        row = await session.get(Flag, flag_id)
    assert row is not None
    return row


async def test_an_admin_resolves_a_report_on_the_admin_page(nodes):
    node = await nodes()
    await node.chapter("greenpark")
    await node.member("ada", role="admin")
    await node.member("mo", role="member", chapter="greenpark")
    for name in ("ada", "mo"):
        await _with_password(node, name)
    first = await _flag(node, "https://bad.example/users/troll")
    second = await _flag(node, "https://bad.example/users/bot")
    base = node.base_url
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        await _sign_in(http, node, "ada")
        async with http.get(f"{base}/admin", headers=HTML) as resp:
            page = await resp.text()
        for flag_id in (first, second):
            assert f'action="/admin/flags/{flag_id}/resolve"' in page
            assert f'<textarea id="flag-note-{flag_id}" name="note" required' in page
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        url = f"{base}/admin/flags/{first}/resolve"

        # Refusals: no CSRF token (403), no note (422), an unknown report (404).
        async with http.post(url, headers=HTML, data={"note": "Blocked."}) as resp:
            assert resp.status == 403 and "CSRF" in await resp.text()
        async with http.post(url, headers=HTML, data={"csrf": token, "note": "  "}) as resp:
            assert resp.status == 422 and "note" in await resp.text()
        async with http.post(
            f"{base}/admin/flags/424242/resolve",
            headers=HTML,
            data={"csrf": token, "note": "Blocked."},
        ) as resp:
            assert resp.status == 404 and "no abuse report" in await resp.text()
        row = await _row(node, first)
        assert (row.state, row.resolution, row.resolved_by) == ("open", None, None)

        # The resolution: back to the admin page, which now shows who, when and the note.
        async with http.post(
            url, headers=HTML, data={"csrf": token, "note": "Suspended bad.example <for good>."}
        ) as resp:
            assert resp.status == 200 and str(resp.url) == f"{base}/admin"
            page = await resp.text()
        assert f"Report {first} resolved." in page
        assert f'action="/admin/flags/{first}/resolve"' not in page
        assert f'action="/admin/flags/{second}/resolve"' in page
        resolved = page.split("Recently resolved", 1)[1]
        assert f"Report {first}:" in resolved
        # Who resolved it, by name and handle, linked (not the raw actor IRI).
        assert f'Resolved by <a href="{base}/actors/ada">ada</a>' in resolved
        assert f"@ada@{node.authority}" in resolved
        assert html.escape("Suspended bad.example <for good>.", quote=False) in resolved
        row = await _row(node, first)
        assert row.state == "resolved" and row.resolved_by == f"{base}/actors/ada"
        assert f'datetime="{row.resolved_at.isoformat()}"' in resolved

        # Final: resolving again is a conflict and keeps the first note.
        async with http.post(url, headers=HTML, data={"csrf": token, "note": "Other."}) as resp:
            assert resp.status == 409 and "already resolved" in await resp.text()
        assert (await _row(node, first)).resolution == "Suspended bad.example <for good>."

    # A member who is not an admin, with a valid session and CSRF token: 403.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await _sign_in(http, node, "mo")
        token = await _csrf(http, f"{base}/me")
        async with http.post(
            f"{base}/admin/flags/{second}/resolve",
            headers=HTML,
            data={"csrf": token, "note": "I resolve it myself."},
        ) as resp:
            assert resp.status == 403 and "admins" in await resp.text()
    row = await _row(node, second)
    assert (row.state, row.resolution) == ("open", None)
