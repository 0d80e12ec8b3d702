"""The SSRF guard: without the testing flag, no private, loopback or odd-scheme fetches."""

from __future__ import annotations

import socket

import pytest
from aiohttp import web

from node.federation.netguard import (
    BlockedDestination,
    GuardedResolver,
    NetworkPolicy,
    address_allowed,
    check_url,
)
from node.federation.transport import FetchError, Signer, Transport
from node.runtime.clock import SystemClock
from node.runtime.config import Settings
from tests.rig.hostile import shared_key


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


# -- Unicode and WHATWG spellings: the normal form is what is checked and what is requested --

UNICODE_LOOPBACK = [
    "１２７.０.０.１",
    "127。0。0。1",
    "127．0．0．1",
    "127｡0｡0｡1",
    "①②⑦.0.0.1",
    "①②⑦.⓪.⓪.①",
    "𝟏𝟐𝟕.0.0.1",
    "127%2e0%2e0%2e1",
]


@pytest.mark.parametrize("host", UNICODE_LOOPBACK)
@pytest.mark.parametrize("allow_private", [False, True])
def test_unicode_spellings_of_loopback_are_refused(host, allow_private):
    with pytest.raises(BlockedDestination) as caught:
        check_url(f"http://{host}:8080/x", policy=NetworkPolicy(allow_private), allow_http=True)
    # What a peer is told names the host as it wrote it, never the address it reads as.
    assert "127.0.0.1" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/x",
        "http://ＬＯＣＡＬＨＯＳＴ:8080/x",
        "http://localhost./x",
        "http://a.localhost/x",
        "https://[0:0::1]/x",
        "https://[::ffff:127.0.0.1]/",
        "https://[2002:7f00:1::1]/",  # 6to4 around 127.0.0.1
        "http://user@example.org/",
        "http://example.org:８０/",
        "http://example.org:99999/",
        "http://exa mple.org/",
        "http://example.org\\@127.0.0.1/",
        "http://xn--zz.example/",
        "http:///x",
        "https://[::1/",
    ],
)
def test_odd_hosts_and_authorities_are_refused(url):
    with pytest.raises(BlockedDestination):
        check_url(url, policy=NetworkPolicy(False), allow_http=True)


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://ＥＸＡＭＰＬＥ.org/a?b=1#frag", "https://example.org/a?b=1"),
        ("https://example。org:443/a", "https://example.org/a"),
        ("HTTPS://Example.ORG./inbox", "https://example.org/inbox"),
        ("https://münchen.de:8443/a", "https://xn--mnchen-3ya.de:8443/a"),
        ("https://93.184.216.34/x", "https://93.184.216.34/x"),
        ("https://[2606:4700:0::1111]/x", "https://[2606:4700::1111]/x"),
    ],
)
def test_check_url_returns_the_normal_form_to_request(url, normal):
    assert check_url(url, policy=NetworkPolicy(False), allow_http=False) == normal


def test_allowlist_entries_are_read_as_addresses():
    policy = NetworkPolicy.from_settings(True, "[FD00:0::1]:8081")
    assert policy.allows("fd00::1", 8081) and not policy.allows("fd00::1", 8082)


async def _loopback_app(aiohttp_server, seen: list[str]):
    async def doc(request: web.Request) -> web.Response:
        seen.append(request.host)
        return web.json_response({"ok": True}, content_type="application/activity+json")

    app = web.Application()
    app.router.add_get("/doc", doc)
    return await aiohttp_server(app)


async def test_the_connection_pool_refuses_ip_literals_at_connect_time(tmp_path, aiohttp_server):
    """Even a request that skipped ``check_url`` (straight through the pooled session) cannot
    reach an address the policy refuses: the connector judges every address it connects to."""
    seen: list[str] = []
    server = await _loopback_app(aiohttp_server, seen)
    settings = Settings(
        data_dir=tmp_path,
        base_url="http://127.0.0.1:1",
        allow_private_network=True,
        private_network_allowlist="127.0.0.1:1",  # not the server's port
    )
    transport = Transport(settings, SystemClock(), version="test")
    await transport.start()
    try:
        for url in (
            f"http://127.0.0.1:{server.port}/doc",
            f"http://[::ffff:127.0.0.1]:{server.port}/doc",
            f"http://localhost:{server.port}/doc",
        ):
            with pytest.raises(BlockedDestination):
                async with transport.session.get(url) as response:
                    await response.read()
    finally:
        await transport.close()
    assert seen == []
    allowed = Settings(
        data_dir=tmp_path,
        base_url="http://127.0.0.1:1",
        allow_private_network=True,
        private_network_allowlist=f"127.0.0.1:{server.port}",
    )
    transport = Transport(allowed, SystemClock(), version="test")
    await transport.start()
    try:
        async with transport.session.get(f"http://127.0.0.1:{server.port}/doc") as response:
            assert response.status == 200
    finally:
        await transport.close()
    assert seen == [f"127.0.0.1:{server.port}"]


async def test_a_unicode_host_is_requested_in_its_normal_form(tmp_path, aiohttp_server):
    """An allowed name written in fullwidth letters is fetched as plain ASCII ``localhost``."""
    seen: list[str] = []
    server = await _loopback_app(aiohttp_server, seen)
    settings = Settings(
        data_dir=tmp_path, base_url="http://127.0.0.1:1", allow_private_network=True
    )
    transport = Transport(settings, SystemClock(), version="test")
    await transport.start()
    try:
        fetched = await transport.get_json(f"http://ｌｏｃａｌｈｏｓｔ:{server.port}/doc")
    finally:
        await transport.close()
    assert fetched.document == {"ok": True}
    assert seen == [f"localhost:{server.port}"]


async def test_fetch_errors_tell_peers_nothing_about_the_connection(tmp_path):
    """A refused connection reads as "unreachable", like every other failure to get an answer
    (told apart, they would make the node a port scanner); the log detail keeps what happened."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    settings = Settings(
        data_dir=tmp_path, base_url="http://127.0.0.1:1", allow_private_network=True
    )
    transport = Transport(settings, SystemClock(), version="test")
    await transport.start()
    try:
        with pytest.raises(FetchError) as caught:
            await transport.get_json(f"http://127.0.0.1:{port}/actor")
        with pytest.raises(FetchError) as posted:
            await transport.post_activity(f"http://127.0.0.1:{port}/inbox", b"{}", signer=_signer())
    finally:
        await transport.close()
    for exc in (caught.value, posted.value):
        public = str(exc).replace(exc.url, "")
        assert public == ": request failed: unreachable", str(exc)
        for word in ("Connect", "connect", "refused", "Errno", "ssl", str(port)):
            assert word not in public, str(exc)
        assert "Connect" in exc.detail  # the log keeps it


def _signer() -> Signer:
    return Signer("http://127.0.0.1:1/actors/a#main-key", shared_key())
