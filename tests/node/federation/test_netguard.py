"""The SSRF guard: without the testing flag, no private, loopback or odd-scheme fetches."""

from __future__ import annotations

import pytest
from aiohttp import web

from node.federation.netguard import (
    BlockedDestination,
    GuardedResolver,
    NetworkPolicy,
    address_allowed,
    check_url,
)
from node.federation.transport import FetchError, Transport
from node.runtime.clock import SystemClock
from node.runtime.config import Settings


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "169.254.169.254",
        "::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
    ],
)
def test_non_global_addresses_are_refused(address):
    assert not address_allowed(address, allow_private=False)


def test_global_addresses_are_allowed():
    assert address_allowed("93.184.216.34", allow_private=False)
    assert address_allowed("2606:4700::1111", allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://x/",
        "http://example.org/",
        "https://127.0.0.1/",
        "https://localhost/x",
        "https://[::1]/",
    ],
)
def test_check_url_refuses(url):
    with pytest.raises(BlockedDestination):
        check_url(url, policy=NetworkPolicy(False), allow_http=False)


async def test_resolver_drops_loopback_answers():
    resolver = GuardedResolver(NetworkPolicy(False))
    try:
        with pytest.raises(BlockedDestination):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


async def test_transport_refuses_a_real_loopback_server_unless_allowed(tmp_path, aiohttp_server):
    async def doc(_: web.Request) -> web.Response:
        return web.json_response({"ok": True}, content_type="application/activity+json")

    app = web.Application()
    app.router.add_get("/doc", doc)
    server = await aiohttp_server(app)
    url = f"http://127.0.0.1:{server.port}/doc"
    strict = Settings(data_dir=tmp_path, base_url="https://node.example")
    transport = Transport(strict, SystemClock(), version="test")
    await transport.start()
    try:
        with pytest.raises(FetchError, match="not allowed|not a public"):
            await transport.get_json(url)
        with pytest.raises(FetchError, match="loopback"):
            await transport.get_json(f"https://localhost:{server.port}/doc")
    finally:
        await transport.close()
    relaxed = Settings(data_dir=tmp_path, base_url="http://127.0.0.1:1", allow_private_network=True)
    transport = Transport(relaxed, SystemClock(), version="test")
    await transport.start()
    try:
        assert (await transport.get_json(url)).document == {"ok": True}
    finally:
        await transport.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",
        "http://0x7f000001/",
        "http://017700000001/",
        "http://127.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/",
    ],
)
def test_numeric_tricks_and_link_local_are_refused_even_for_testing(url):
    with pytest.raises(BlockedDestination):
        check_url(url, policy=NetworkPolicy(True), allow_http=True)


def test_allowlist_limits_private_destinations_to_listed_ports():
    policy = NetworkPolicy.from_settings(True, "127.0.0.1:8081, 127.0.0.1:8082")
    check_url("http://127.0.0.1:8081/x", policy=policy, allow_http=True)
    with pytest.raises(BlockedDestination):
        check_url("http://127.0.0.1:9999/x", policy=policy, allow_http=True)
    assert policy.allows("93.184.216.34", 443)
