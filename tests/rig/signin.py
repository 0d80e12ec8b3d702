"""A browser's sign-in over plain HTTP against a real node: cookies, CSRF tokens, the login form."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import aiohttp

from node.features.actors.passwords import hash_password
from storage.repositories import actors as actor_repo
from tests.rig.nodes import Node

HTML = {"Accept": "text/html"}
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    headers: dict[str, str]
    location: str | None


def browser() -> aiohttp.ClientSession:
    """A client that keeps the node's cookies (loopback hosts included) and never follows
    redirects, so a test sees each answer as the browser would."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


@functools.cache
def _hash_of(password: str) -> str:
    """One argon2id hash per password and process (each costs ~0.1 s of CPU and 64 MiB);
    it is salted, and verifies the same for every actor it is given to."""
    return hash_password(password)


async def set_password(node: Node, name: str, password: str = PASSWORD) -> None:
    await set_password_hash(node, name, _hash_of(password))


async def set_password_hash(node: Node, name: str, stored: str | None) -> None:
    async with node.services.db.write() as session:
        actor = await actor_repo.local_actor_by_name(session, name)
        assert actor is not None, name
        actor.password_hash = stored


async def stored_hash(node: Node, name: str) -> str | None:
    async with node.services.db.read() as session:
        actor = await actor_repo.local_actor_by_name(session, name)
        assert actor is not None, name
        return actor.password_hash


async def csrf(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url, headers=HTML) as resp:
        found = re.search(r'name="csrf" value="([^"]+)"', await resp.text())
    assert found, f"no CSRF token on {url}"
    return found.group(1)


async def post(
    http: aiohttp.ClientSession,
    url: str,
    data: dict[str, str],
    headers: dict[str, str] | None = None,
) -> Answer:
    async with http.post(
        url, headers={**HTML, **(headers or {})}, data=data, allow_redirects=False
    ) as resp:
        return Answer(
            resp.status, await resp.text(), dict(resp.headers), resp.headers.get("Location")
        )


async def get(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> Answer:
    async with http.get(url, headers={**HTML, **(headers or {})}, allow_redirects=False) as resp:
        return Answer(
            resp.status, await resp.text(), dict(resp.headers), resp.headers.get("Location")
        )


async def login(
    http: aiohttp.ClientSession,
    node: Node,
    name: str,
    password: str = PASSWORD,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """POST the sign-in form (fetching a CSRF token first unless one is given)."""
    token = token or await csrf(http, f"{node.base_url}/login")
    return await post(
        http,
        f"{node.base_url}/login",
        {"csrf": token, "name": name, "password": password},
        headers,
    )


async def signed_in_as(http: aiohttp.ClientSession, node: Node) -> str | None:
    """Whose /me page this browser gets (None: it is sent to the sign-in page)."""
    answer = await get(http, f"{node.base_url}/me")
    if answer.status == 303:
        assert answer.location == "/login", answer.location
        return None
    assert answer.status == 200, answer
    found = re.search(r"<h1>Hello, ([^<]+)</h1>", answer.text)
    assert found, answer.text
    return found.group(1)
