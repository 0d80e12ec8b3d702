"""Signing in on a real node over loopback: password checks stay off the event loop, cost the
same for every name, are limited per account and per address, and upgrade old hashes."""

from __future__ import annotations

import asyncio
import base64
import os
import threading
import time
from typing import Any

from argon2 import PasswordHasher
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from node.features.actors import passwords
from tests.rig.signin import (
    PASSWORD,
    browser,
    csrf,
    login,
    set_password,
    set_password_hash,
    signed_in_as,
    stored_hash,
)

WRONG = "not the password"


def legacy_scrypt_hash(password: str) -> str:
    """A hash in the format releases before argon2id stored (scrypt N=2^14, r=8, p=1)."""
    salt = os.urandom(16)
    digest = Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(password.encode())
    return (
        f"scrypt${2**14}$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    )


def test_the_dummy_hash_costs_what_a_real_one_does():
    """Unknown names are checked against DUMMY_HASH; if argon2-cffi's recommended parameters
    change, it must be regenerated (else the timing tells unknown names apart)."""
    assert passwords.DUMMY_HASH.startswith("$argon2id$")
    assert not PasswordHasher().check_needs_rehash(passwords.DUMMY_HASH)
    real = passwords.hash_password("anything at all")
    assert real.split("$")[1:4] == passwords.DUMMY_HASH.split("$")[1:4]


async def test_wrong_passwords_do_not_stall_the_node(nodes, monkeypatch):
    """20 concurrent wrong passwords, each check slowed to 0.2 s: /healthz still answers at
    once, because every check runs in a worker thread."""
    node = await nodes()
    names = [f"member{i}" for i in range(4)]  # 5 attempts each: under the account limit
    for name in names:
        await node.member(name)
        await set_password(node, name)
    loop_thread = threading.get_ident()
    checked_on: list[int] = []
    argon2_verify = PasswordHasher.verify
    scrypt = passwords.Scrypt

    def slow_verify(self: PasswordHasher, hash: str, password: str) -> Any:
        checked_on.append(threading.get_ident())
        time.sleep(0.2)
        return argon2_verify(self, hash, password)

    def slow_scrypt(**kwargs: Any) -> Any:  # the key derivation of older releases
        checked_on.append(threading.get_ident())
        time.sleep(0.2)
        return scrypt(**kwargs)

    monkeypatch.setattr(PasswordHasher, "verify", slow_verify)
    monkeypatch.setattr(passwords, "Scrypt", slow_scrypt)
    loop = asyncio.get_running_loop()
    async with browser() as http:
        token = await csrf(http, f"{node.base_url}/login")
        attempts = [
            asyncio.create_task(login(http, node, names[i % 4], WRONG, token=token))
            for i in range(20)
        ]
        while not checked_on:  # the checks have started
            await asyncio.sleep(0.01)
        started = loop.time()
        async with http.get(f"{node.base_url}/healthz") as resp:
            assert resp.status == 200
        took = loop.time() - started
        answers = await asyncio.gather(*attempts)
    assert took < 1.0, f"/healthz took {took:.2f}s while passwords were checked"
    assert [a.status for a in answers] == [200] * 20
    assert all("Wrong name or password" in a.text for a in answers)
    assert len(checked_on) == 20
    assert loop_thread not in checked_on, "a password was checked on the event loop"


async def test_every_name_costs_one_argon2_verification(nodes, monkeypatch):
    """Unknown names, non-members and members without a password are checked against a dummy
    hash with the same parameters: the same work as a member with a wrong password."""
    node = await nodes()
    await node.chapter("greenpark")
    await node.member("ada")
    await node.member("nopass")
    await set_password(node, "ada")
    ada_hash = await stored_hash(node, "ada")
    verified: list[str] = []
    argon2_verify = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str, password: str) -> Any:
        verified.append(hash)
        return argon2_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    async with browser() as http:
        for name in ("nobody", "greenpark", "nopass", "ada", ""):
            verified.clear()
            answer = await login(http, node, name, WRONG)
            assert answer.status == 200 and "Wrong name or password" in answer.text, name
            assert len(verified) == 1, (name, verified)
            # same algorithm, version and cost parameters as a real member's hash
            assert verified[0].split("$")[1:4] == ada_hash.split("$")[1:4], name


async def test_the_sixth_wrong_password_for_an_account_is_refused_for_a_while(nodes):
    node = await nodes()
    await node.member("ada")
    await node.member("bo")
    await set_password(node, "ada")
    await set_password(node, "bo")
    async with browser() as http:
        for _ in range(5):
            answer = await login(http, node, "ada", WRONG)
            assert answer.status == 200 and "Wrong name or password" in answer.text
        refused = await login(http, node, "ada", WRONG)
        assert refused.status == 429, refused
        assert 800 <= int(refused.headers["Retry-After"]) <= 900
        assert "Too many wrong passwords" in refused.text and "15 minutes" in refused.text
        assert '<form method="post" action="/login">' in refused.text  # still the sign-in page
        # the right password does not get through either while the account is limited
        assert (await login(http, node, " ADA ", PASSWORD)).status == 429
        assert await signed_in_as(http, node) is None
        # other accounts are not affected
        assert (await login(http, node, "bo", PASSWORD)).status == 303
        assert await signed_in_as(http, node) == "bo"
        # an unknown name is limited the same way (the limit does not tell names apart)
        for _ in range(5):
            assert (await login(http, node, "ghost", WRONG)).status == 200
        assert (await login(http, node, "ghost", WRONG)).status == 429


async def test_a_successful_sign_in_forgives_earlier_failures(nodes):
    node = await nodes()
    await node.member("bo")
    await set_password(node, "bo")
    async with browser() as http:
        for _ in range(4):
            assert (await login(http, node, "bo", WRONG)).status == 200
        assert (await login(http, node, "bo", PASSWORD)).status == 303
        for _ in range(5):
            assert (await login(http, node, "bo", WRONG)).status == 200
        assert (await login(http, node, "bo", WRONG)).status == 429


async def test_one_address_gets_20_attempts_a_minute(nodes):
    """25 attempts at once from one address (distinct names): 20 are checked, the rest are
    refused before any work. (One more may pass if the burst took seconds to arrive: the
    allowance refills at one attempt every 3 s.)"""
    node = await nodes()
    async with browser() as http:
        token = await csrf(http, f"{node.base_url}/login")
        answers = await asyncio.gather(
            *(login(http, node, f"nobody{i}", WRONG, token=token) for i in range(25))
        )
    checked = [a for a in answers if a.status == 200]
    refused = [a for a in answers if a.status == 429]
    assert len(checked) + len(refused) == 25
    assert 20 <= len(checked) <= 21, [a.status for a in answers]
    assert all("Wrong name or password" in a.text for a in checked)
    for answer in refused:
        assert 1 <= int(answer.headers["Retry-After"]) <= 60
        assert "Too many sign-in attempts from your network" in answer.text


async def test_behind_a_trusted_proxy_clients_are_told_apart_by_x_forwarded_for(nodes):
    node = await nodes(trust_forwarded_for=True, signin_attempts_per_ip_per_minute=2)
    first = {"X-Forwarded-For": "198.51.100.7, 203.0.113.1"}  # the proxy appended the last
    async with browser() as http:
        for _ in range(2):
            assert (await login(http, node, "nobody", WRONG, headers=first)).status == 200
        assert (await login(http, node, "nobody", WRONG, headers=first)).status == 429
        other = {"X-Forwarded-For": "198.51.100.7, 203.0.113.2"}
        assert (await login(http, node, "nobody", WRONG, headers=other)).status == 200


async def test_an_old_scrypt_hash_signs_in_and_becomes_argon2id(nodes):
    node = await nodes()
    await node.member("ada")
    legacy = legacy_scrypt_hash(PASSWORD)
    await set_password_hash(node, "ada", legacy)
    async with browser() as http:
        assert (await login(http, node, "ada", WRONG)).status == 200
        assert await stored_hash(node, "ada") == legacy  # a wrong password changes nothing
        assert (await login(http, node, "ada", PASSWORD)).status == 303
        assert await signed_in_as(http, node) == "ada"
    upgraded = await stored_hash(node, "ada")
    assert upgraded is not None and upgraded.startswith("$argon2id$")
    assert not PasswordHasher().check_needs_rehash(upgraded)
    async with browser() as http:  # and the new hash works
        assert (await login(http, node, "ada", PASSWORD)).status == 303


async def test_a_weak_argon2_hash_is_rehashed_with_todays_parameters(nodes):
    node = await nodes()
    await node.member("ada")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    await set_password_hash(node, "ada", weak)
    async with browser() as http:
        assert (await login(http, node, "ada", PASSWORD)).status == 303
    upgraded = await stored_hash(node, "ada")
    assert upgraded != weak and not PasswordHasher().check_needs_rehash(upgraded)
