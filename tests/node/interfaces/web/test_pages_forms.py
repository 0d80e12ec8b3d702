"""Forms over plain HTTP (the browser journeys live in tests/browser)."""

from __future__ import annotations

import re

import aiohttp

from node.features.actors.passwords import hash_password
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo

HTML = {"Accept": "text/html"}


async def _set_password(node, name: str, password: str) -> None:
    async with node.services.db.write() as session:
        (await actor_repo.local_actor_by_name(session, name)).password_hash = hash_password(
            password
        )


async def _csrf(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url, headers=HTML) as resp:
        return re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)


async def test_admin_sets_a_role_and_forms_need_their_csrf_token(nodes):
    node = await nodes()
    await node.chapter("greenpark")
    await node.member("ada", role="admin")
    await node.member("bo")
    await _set_password(node, "ada", "correct horse battery")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await _csrf(http, f"{node.base_url}/login")
        async with http.post(
            f"{node.base_url}/login",
            headers=HTML,
            data={"csrf": token, "name": "ada", "password": "wrong password!"},
        ) as resp:
            assert "Wrong name or password" in await resp.text()
        async with http.post(
            f"{node.base_url}/login",
            headers=HTML,
            data={"csrf": token, "name": "ada", "password": "correct horse battery"},
        ) as resp:
            assert resp.status == 200 and str(resp.url).endswith("/me")
        token = await _csrf(http, f"{node.base_url}/admin")
        form = {"member": "bo", "chapter": "greenpark", "role": "organiser"}
        async with http.post(f"{node.base_url}/admin/roles", headers=HTML, data=form) as resp:
            assert resp.status == 403 and "CSRF" in await resp.text()
        async with http.post(
            f"{node.base_url}/admin/roles", headers=HTML, data={**form, "csrf": token}
        ) as resp:
            assert resp.status == 200 and "bo is now organiser of greenpark" in await resp.text()
    async with node.services.db.read() as session:
        bo = await actor_repo.local_actor_by_name(session, "bo")
        chapters = await action_repo.chapters_of(session, bo.id)
    assert [(c.name, role) for c, role in chapters] == [("greenpark", "organiser")]
