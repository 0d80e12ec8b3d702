"""Taking access back on a real node over loopback: ``member sessions revoke`` and ``member
tokens revoke`` through the real command line, the admin page's buttons, and a member signing
out everywhere from their own page."""

from __future__ import annotations

import re

import aiohttp

from node.features.actors.authz import principal_by_name
from tests.rig.nodes import acli
from tests.rig.signin import browser, csrf, login, post, set_password, signed_in_as


async def _api_status(node, token: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{node.base_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}
        ) as resp,
    ):
        return resp.status


async def _member_cli(node, *args: str, check: bool = True):
    return await acli("member", *args, "--data", str(node.data_dir), env=node.cli_env, check=check)


async def _role(node, name: str) -> str:
    async with node.services.db.read() as session:
        return (await principal_by_name(session, name)).role


async def test_member_sessions_revoke_signs_a_live_browser_out(nodes):
    node = await nodes()
    await node.member("ada")
    await set_password(node, "ada")
    async with browser() as laptop, browser() as phone:
        for device in (laptop, phone):
            assert (await login(device, node, "ada")).status == 303
            assert await signed_in_as(device, node) == "ada"
        done = await _member_cli(node, "sessions", "revoke", "ada")
        assert done.returncode == 0 and "ada" in done.stdout
        assert await signed_in_as(laptop, node) is None  # the old cookies sign no one in
        assert await signed_in_as(phone, node) is None
        assert (await login(laptop, node, "ada")).status == 303  # signing in again works
        assert await signed_in_as(laptop, node) == "ada"
        assert await signed_in_as(phone, node) is None
    unknown = await _member_cli(node, "sessions", "revoke", "ghost", check=False)
    assert unknown.returncode == 1 and "no member named 'ghost'" in unknown.stderr
    helped = await acli("member", "sessions", "revoke", "--help")
    assert (
        helped.returncode == 0 and "sign the member out of every browser" in helped.stdout.lower()
    )


async def test_member_tokens_revoke_makes_the_tokens_answer_401(nodes):
    node = await nodes()
    ada = await node.member("ada", role="organiser")
    assert ada.token is not None and await _api_status(node, ada.token) == 200
    done = await _member_cli(node, "tokens", "revoke", "ada")
    assert done.returncode == 0 and "revoked 1 API token of ada" in done.stdout
    assert await _api_status(node, ada.token) == 401
    assert await _role(node, "ada") == "organiser"  # the node-wide role stays
    unknown = await _member_cli(node, "tokens", "revoke", "ghost", check=False)
    assert unknown.returncode == 1 and "no member named 'ghost'" in unknown.stderr
    helped = await acli("member", "tokens", "revoke", "--help")
    assert helped.returncode == 0 and "401" in helped.stdout


async def test_the_admin_page_revokes_sessions_and_tokens_after_a_confirmation(nodes):
    node = await nodes()
    await node.member("root", role="admin")
    bo = await node.member("bo")
    for name in ("root", "bo"):
        await set_password(node, name)
    assert bo.token is not None
    async with browser() as admin, browser() as bos_browser:
        assert (await login(admin, node, "root")).status == 303
        assert (await login(bos_browser, node, "bo")).status == 303
        token = await csrf(admin, f"{node.base_url}/admin")
        url = f"{node.base_url}/admin/members/revoke"

        no_csrf = await post(admin, url, {"member": "bo", "what": "sessions"})
        assert no_csrf.status == 403
        asked = await post(admin, url, {"csrf": token, "member": "bo", "what": "sessions"})
        assert asked.status == 200 and "Sign bo out everywhere?" in asked.text
        assert 'name="confirm" value="yes"' in asked.text
        assert await signed_in_as(bos_browser, node) == "bo"  # nothing done before confirming
        done = await post(
            admin, url, {"csrf": token, "member": "bo", "what": "sessions", "confirm": "yes"}
        )
        assert done.status == 303 and done.location == "/admin"
        assert await signed_in_as(bos_browser, node) is None
        async with admin.get(f"{node.base_url}/admin", headers={"Accept": "text/html"}) as resp:
            assert "bo is signed out everywhere." in await resp.text()

        asked = await post(admin, url, {"csrf": token, "member": "bo", "what": "tokens"})
        assert asked.status == 200 and "Revoke bo&#39;s API tokens?" in asked.text
        assert await _api_status(node, bo.token) == 200
        await post(admin, url, {"csrf": token, "member": "bo", "what": "tokens", "confirm": "yes"})
        assert await _api_status(node, bo.token) == 401
        async with admin.get(f"{node.base_url}/admin", headers={"Accept": "text/html"}) as resp:
            page = await resp.text()
        assert "Revoked 1 API token of bo." in page
        assert re.search(r"Sign bo out everywhere…</button>", page)  # the row's buttons

        for bad, status in (({"member": "ghost", "what": "tokens"}, 404),
                            ({"member": "bo", "what": "everything"}, 422)):  # fmt: skip
            assert (await post(admin, url, {"csrf": token, **bad})).status == status
        # a member who is not an admin cannot use it
        assert (await login(bos_browser, node, "bo")).status == 303
        bos_token = await csrf(bos_browser, f"{node.base_url}/me")
        refused = await post(
            bos_browser,
            url,
            {"csrf": bos_token, "member": "root", "what": "sessions", "confirm": "yes"},
        )
        assert refused.status == 403
        assert await signed_in_as(admin, node) == "root"


async def test_a_member_signs_out_everywhere_from_their_own_page(nodes):
    node = await nodes()
    await node.member("ada")
    await set_password(node, "ada")
    async with browser() as laptop, browser() as phone:
        for device in (laptop, phone):
            assert (await login(device, node, "ada")).status == 303
        token = await csrf(laptop, f"{node.base_url}/me")
        done = await post(laptop, f"{node.base_url}/logout/everywhere", {"csrf": token})
        assert done.status == 303 and done.location == "/login"
        assert await signed_in_as(laptop, node) is None
        assert await signed_in_as(phone, node) is None
