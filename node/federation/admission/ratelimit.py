"""Token buckets for inbound traffic, and who each request is charged to.

Before its signature is verified, nothing a request says about its sender is true yet: charging
the key id it claims (or that key's domain) would let anyone spend an honest peer's budget with
junk naming the peer's key. So an unverified request is charged only to its client address
(``ClientLimiter``, generous: it bounds how much verification and key fetching one address can
make us do). Once the signature checks out, the request is charged to the key that signed it
and to the registrable domain of the key's owner (``DomainLimiter``): ``a.evil.example`` and
``b.evil.example`` share one budget, so fresh subdomains buy an attacker nothing. API tokens
have their own buckets (``node.interfaces.api.auth``).

Owned by the running app (no module state). A refused request learns when to come back.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from publicsuffixlist import PublicSuffixList

from node.runtime.errors import HttpError
from protocol.errors import MalformedDocument
from protocol.ids import Origin, origin_of

if TYPE_CHECKING:  # only charge_client's annotation: the CLI opens limiters, never a server
    from aiohttp import web

MAX_BUCKETS = 50_000
#: Hosts (and IPv6 clients) whose budget key is remembered; past that the oldest is forgotten.
MAX_CACHED = 10_000
#: IPv6 clients are charged per /64: one host is routinely handed a whole /64.
IPV6_CLIENT_PREFIX = 64


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float] | None = None) -> None:
        self.rate = rate
        self.burst = burst
        self._now = clock or time.monotonic
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float | None:
        """Spend one token; returns None when allowed, else seconds until one is available."""
        if self.rate <= 0:
            return None
        now = self._now()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self.rate

    def give_back(self, key: str) -> None:
        """Return one token spent by ``take`` (the spending turned out to be someone else's)."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(float(self.burst), bucket.tokens + 1)

    @property
    def limit(self) -> str:
        """The limit in words, for the message of a refusal."""
        return f"{self.rate:g}/s (burst {self.burst})"


def _remember(cache: dict[object, str], key: object, value: str) -> str:
    if len(cache) >= MAX_CACHED:
        del cache[next(iter(cache))]  # the oldest entry: cheap, and enough to bound the dict
    cache[key] = value
    return value


class ClientLimiter(RateLimiter):
    """Buckets per client address: the connecting peer's, or, with ``forwarded_for`` (setting
    ``trust_forwarded_for``: the node sits behind a reverse proxy on its host), the last
    ``X-Forwarded-For`` address, the one the proxy itself appended. Without that setting the
    header is ignored: anyone can send it. IPv6 clients are charged per /64."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        forwarded_for: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(rate, burst, clock)
        self.forwarded_for = forwarded_for
        self._clients: dict[object, str] = {}  # IPv6 address text -> its /64

    def client_of(self, remote: str | None, forwarded_for: str | None = None) -> str:
        """The budget key of a request's client (``forwarded_for``: the header's value)."""
        if self.forwarded_for and forwarded_for:
            last = forwarded_for.rsplit(",", 1)[-1].strip()
            try:
                ipaddress.ip_address(last.split("%", 1)[0])
            except ValueError:
                pass  # not an address: the proxy did not write it; the peer's address stands
            else:
                remote = last
        if not remote:
            return "unknown"
        return self._bucket(remote)

    def _bucket(self, address: str) -> str:
        if ":" not in address:  # IPv4, the common case: the address itself, nothing parsed
            return address
        cached = self._clients.get(address)
        if cached is not None:
            return cached
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return address
        if isinstance(ip, ipaddress.IPv6Address):
            mapped = ip.ipv4_mapped
            bucket = (
                str(mapped)
                if mapped is not None
                else str(ipaddress.ip_network(f"{ip}/{IPV6_CLIENT_PREFIX}", strict=False))
            )
        else:
            bucket = str(ip)
        return _remember(self._clients, address, bucket)


class DomainLimiter(RateLimiter):
    """Buckets per registrable domain ("eTLD+1", from the Public Suffix List, private section
    included: ``alice.github.io`` and ``bob.github.io`` are different owners).

    An IP literal is its own domain; a loopback or private one, and ``localhost``, counts per
    ``host:port`` (only local test setups use them, where every node shares 127.0.0.1). The
    list is parsed on first use (about 40 ms and 1.5 MB an idle node need not spend), once per
    limiter, i.e. once per app; each host's answer is then remembered."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] | None = None) -> None:
        super().__init__(rate, burst, clock)
        self._psl: PublicSuffixList | None = None
        self._domains: dict[object, str] = {}

    def domain_of(self, actor_id: str) -> str:
        """The budget key of an actor: its host's registrable domain."""
        try:
            origin = origin_of(actor_id)
        except MalformedDocument:
            return "invalid"  # verified owners are valid ids; kept apart all the same
        cached = self._domains.get(origin)
        if cached is not None:
            return cached
        return _remember(self._domains, origin, self._registrable(origin))

    def _registrable(self, origin: Origin) -> str:
        host = origin.host
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if ip is not None:
            return str(ip) if ip.is_global else origin.authority
        if host == "localhost" or host.endswith(".localhost"):
            return origin.authority
        if self._psl is None:
            self._psl = PublicSuffixList()
        # None: the host is itself a public suffix (or unknown single label): its own domain.
        return self._psl.privatesuffix(host) or host


def _authority(actor_id: str) -> str:
    try:
        return origin_of(actor_id).authority
    except MalformedDocument:
        return "invalid"


def too_many(wait: float, detail: str) -> HttpError:
    """429 with ``Retry-After`` (whole seconds, at least 1)."""
    after = max(1, math.ceil(wait))
    return HttpError(
        429,
        f"{detail}; retry after {after} s",
        title="Too many requests",
        headers={"Retry-After": str(after)},
    )


def charge_client(limits: Mapping[str, RateLimiter], request: web.BaseRequest) -> str | None:
    """Charge a request to its client address (``limits["ip"]``); 429 when it is spent.

    The only budget an unverified request may spend: it knows nothing of who signed it. The
    charge is given back once the signature verifies (``refund_client``), so the budget bounds
    what an address may make us check in vain, never an honest server's verified traffic.
    Returns the address charged (None: no budget)."""
    limiter = limits.get("ip")
    if limiter is None or limiter.rate <= 0:
        return None
    if isinstance(limiter, ClientLimiter):
        forwarded = None
        if limiter.forwarded_for:  # several such headers read as one list, in order
            forwarded = ",".join(request.headers.getall("X-Forwarded-For", ()))
        client = limiter.client_of(request.remote, forwarded)
    else:
        client = request.remote or "unknown"
    wait = limiter.take(client)
    if wait is not None:
        raise too_many(
            wait,
            f"too many requests from {client}: at most {limiter.limit} per client address "
            "before signatures are checked",
        )
    return client


def refund_client(limits: Mapping[str, RateLimiter], client: str | None) -> None:
    """Give back the address's charge of a request whose signature verified."""
    limiter = limits.get("ip")
    if client is not None and limiter is not None:
        limiter.give_back(client)


def charge_verified(limits: Mapping[str, RateLimiter], key_id: str, owner: str) -> None:
    """Charge a verified request to the key that signed it (``limits["key"]``), then to the
    registrable domain of the key's owner (``limits["domain"]``); 429 when either is spent.

    The key first: a request refused for its key does not also spend its domain's budget,
    so one noisy account does not drain the budget of its neighbours on the same server."""
    key_limiter = limits.get("key")
    if key_limiter is not None:
        wait = key_limiter.take(key_id)
        if wait is not None:
            raise too_many(
                wait, f"too many requests signed with {key_id}: at most {key_limiter.limit} per key"
            )
    domain_limiter = limits.get("domain")
    if domain_limiter is not None:
        if isinstance(domain_limiter, DomainLimiter):
            domain = domain_limiter.domain_of(owner)
        else:  # a plain limiter: the owner's host as it is
            domain = _authority(owner)
        wait = domain_limiter.take(domain)
        if wait is not None:
            raise too_many(
                wait,
                f"too many requests from actors on {domain}: at most {domain_limiter.limit} "
                "per sending domain (subdomains included)",
            )
