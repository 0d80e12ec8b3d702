"""No page can be framed by another site (clickjacking the admin's one-click forms): every HTML
answer of a real node, pages and error pages alike, carries ``Content-Security-Policy:
frame-ancestors 'none'`` and ``X-Frame-Options: DENY``; JSON documents, feeds and static files
are not pages and are served as before."""

from __future__ import annotations

import re

import aiohttp

from node.features.actors.passwords import hash_password
from storage.repositories import actors as actor_repo

HTML = {"Accept": "text/html"}
AP = {"Accept": "application/activity+json"}


def assert_unframeable(resp: aiohttp.ClientResponse) -> None:
    assert resp.content_type == "text/html", resp.content_type
    policy = resp.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy, (resp.url, policy)
    assert resp.headers.get("X-Frame-Options") == "DENY", resp.url
    assert len(resp.headers.getall("Content-Security-Policy")) == 1  # merged, not doubled


async def test_pages_sign_in_admin_and_error_pages_forbid_framing(nodes):
    node = await nodes()
    await node.chapter("greenpark")
    await node.member("ada", role="admin")
    async with node.services.db.write() as session:
        ada = await actor_repo.local_actor_by_name(session, "ada")
        ada.password_hash = hash_password("correct horse battery")
    base = node.base_url
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}/", headers=HTML) as resp:
            assert resp.status == 200
            assert_unframeable(resp)
            # The pages' own policy is kept, with frame-ancestors merged into it.
            assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
        async with http.get(f"{base}/actors/greenpark", headers=HTML) as resp:
            assert resp.status == 200
            assert_unframeable(resp)
        async with http.get(f"{base}/login", headers=HTML) as resp:
            assert resp.status == 200
            assert_unframeable(resp)
            csrf = re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)
        # Error pages: an unknown chapter (404) and the admin page before signing in as one.
        async with http.get(f"{base}/actors/nowhere", headers=HTML) as resp:
            assert resp.status == 404
            assert_unframeable(resp)
        async with http.post(f"{base}/admin/deliveries/retry", headers=HTML, data={}) as resp:
            assert resp.status == 403 and "CSRF" in await resp.text()
            assert_unframeable(resp)
        async with http.post(
            f"{base}/login",
            headers=HTML,
            data={"csrf": csrf, "name": "ada", "password": "correct horse battery"},
        ) as resp:
            assert resp.status == 200
            assert_unframeable(resp)
        async with http.get(f"{base}/admin", headers=HTML) as resp:
            assert resp.status == 200 and "Node administration" in await resp.text()
            assert_unframeable(resp)


async def test_documents_feeds_and_static_files_are_not_pages(nodes):
    node = await nodes()
    await node.chapter("greenpark")
    base = node.base_url
    async with aiohttp.ClientSession() as http:
        for url, headers, content_type in (
            (f"{base}/actors/greenpark", AP, "application/activity+json"),
            (f"{base}/actors/greenpark/feed.atom", {}, "application/atom+xml"),
            (f"{base}/actors/greenpark/calendar.ics", {}, "text/calendar"),
            (f"{base}/static/style.css", {}, "text/css"),
            (f"{base}/api/v1/me", {}, "application/problem+json"),  # an API error
        ):
            async with http.get(url, headers=headers) as resp:
                assert resp.content_type == content_type, url
                assert "X-Frame-Options" not in resp.headers, url
                assert "frame-ancestors" not in resp.headers.get("Content-Security-Policy", "")
                await resp.read()
