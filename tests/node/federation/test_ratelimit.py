"""Who a request is charged to: registrable domains and client addresses (ratelimit.py)."""

from __future__ import annotations

import pytest

from node.federation.admission.ratelimit import (
    MAX_CACHED,
    ClientLimiter,
    DomainLimiter,
    RateLimiter,
    charge_verified,
)
from node.runtime.errors import HttpError


@pytest.mark.parametrize(
    ("actor", "domain"),
    [
        ("https://a.evil.example/actors/m", "evil.example"),
        ("https://b.c.evil.example/users/x", "evil.example"),
        ("https://evil.example:8443/users/x", "evil.example"),  # a port buys nothing
        ("https://mastodon.social/users/alice", "mastodon.social"),
        ("https://a.chapter.org.uk/actors/x", "chapter.org.uk"),  # a two-label public suffix
        ("https://alice.github.io/actor", "alice.github.io"),  # private section: own owners
        ("https://github.io/actor", "github.io"),  # a public suffix itself: its own domain
        ("https://93.184.215.14/actor", "93.184.215.14"),  # a public IP: its own domain...
        ("https://93.184.215.14:8443/actor", "93.184.215.14"),  # ...whatever the port
        ("https://[2606:4700::1111]:8443/actor", "2606:4700::1111"),
        ("http://127.0.0.1:8080/actors/x", "127.0.0.1:8080"),  # loopback: per host:port
        ("http://localhost:9000/actors/x", "localhost:9000"),
        ("https://[2001:db8::1]:8443/actor", "[2001:db8::1]:8443"),  # not global: host:port
        ("not a url", "invalid"),
    ],
)
def test_the_domain_budget_is_the_registrable_domain(actor: str, domain: str) -> None:
    assert DomainLimiter(1, 1).domain_of(actor) == domain


def test_the_list_is_parsed_once_and_answers_are_remembered_within_bounds() -> None:
    limiter = DomainLimiter(1, 1)
    assert limiter._psl is None  # not before it is needed
    limiter.domain_of("https://a.evil.example/x")
    psl = limiter._psl
    for i in range(MAX_CACHED + 50):
        limiter.domain_of(f"https://h{i}.evil.example/x")
    assert limiter._psl is psl
    assert len(limiter._domains) <= MAX_CACHED


def test_subdomains_spend_one_budget_and_the_refusal_says_which() -> None:
    limits: dict[str, RateLimiter] = {"domain": DomainLimiter(0.001, 2)}
    charge_verified(limits, "https://a.evil.example/x#k", "https://a.evil.example/x")
    charge_verified(limits, "https://b.evil.example/x#k", "https://b.evil.example/x")
    with pytest.raises(HttpError) as refused:
        charge_verified(limits, "https://c.evil.example/x#k", "https://c.evil.example/x")
    assert refused.value.status == 429
    assert int(refused.value.headers["Retry-After"]) >= 1
    assert "evil.example" in refused.value.detail and "0.001/s (burst 2)" in refused.value.detail
    charge_verified(limits, "https://good.example/x#k", "https://good.example/x")


def test_a_key_refused_does_not_spend_its_domains_budget() -> None:
    limits: dict[str, RateLimiter] = {
        "key": RateLimiter(0.001, 1),
        "domain": DomainLimiter(0.001, 2),
    }
    noisy, quiet = "https://a.example/noisy", "https://a.example/quiet"
    charge_verified(limits, f"{noisy}#k", noisy)
    for _ in range(5):
        with pytest.raises(HttpError, match="signed with"):
            charge_verified(limits, f"{noisy}#k", noisy)
    charge_verified(limits, f"{quiet}#k", quiet)  # the domain's second token is still there


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "client"),
    [
        ("198.51.100.4", None, False, "198.51.100.4"),
        ("127.0.0.1", "203.0.113.9", False, "127.0.0.1"),  # not configured: header ignored
        ("127.0.0.1", "203.0.113.9", True, "203.0.113.9"),
        ("127.0.0.1", "1.2.3.4, 203.0.113.9", True, "203.0.113.9"),  # the proxy's own entry
        ("127.0.0.1", "203.0.113.9, junk", True, "127.0.0.1"),  # no address: the peer's
        ("127.0.0.1", None, True, "127.0.0.1"),
        ("2001:db8:1:2:aaaa::1", None, False, "2001:db8:1:2::/64"),  # IPv6: per /64
        ("2001:db8:1:2:bbbb::7", None, False, "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", None, False, "192.0.2.1"),
        (None, None, False, "unknown"),
    ],
)
def test_the_client_address(
    remote: str | None, forwarded: str | None, trusted: bool, client: str
) -> None:
    assert ClientLimiter(1, 1, forwarded_for=trusted).client_of(remote, forwarded) == client
