"""Outbound HTTP: one pooled keep-alive client, signed requests, caps on time and size.

Every outbound request goes through here, so the SSRF guard, timeouts, the size cap, the
User-Agent and signing are applied in one place.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final
from urllib.parse import urljoin, urlsplit, urlunsplit

import aiohttp
import orjson

from node.federation.netguard import BlockedDestination, GuardedResolver, NetworkPolicy, check_url
from node.runtime.clock import Clock
from node.runtime.config import Settings
from protocol.errors import ChapterhouseError
from protocol.httpsig import HttpRequest, sign_request_cavage, sign_request_rfc9421
from protocol.ids import same_origin
from protocol.keys import PrivateKey

AP_ACCEPT: Final = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AP_TYPES: Final = frozenset({"application/activity+json", "application/ld+json"})
JRD_TYPES: Final = frozenset({"application/jrd+json", "application/json"})
MAX_REDIRECTS: Final = 5
CAVAGE: Final = "draft-cavage-12"
RFC9421: Final = "rfc9421"


class FetchError(ChapterhouseError):
    """A fetch failed; ``status`` is the HTTP status when there was an answer."""

    def __init__(self, url: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url
        self.status = status


@dataclass(frozen=True, slots=True)
class Signer:
    """Who signs a request: a key id and its already-loaded private key."""

    key_id: str
    private_key: PrivateKey


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # the final URL after redirects
    document: object


@dataclass(frozen=True, slots=True)
class PostResult:
    status: int
    retry_after: str | None
    excerpt: str


CHECKED_PREFIXES = 4096  # remembered SSRF verdicts (hosts), forgotten all at once when full


class Transport:
    def __init__(self, settings: Settings, clock: Clock, *, version: str) -> None:
        self._settings = settings
        self._clock = clock
        self._user_agent = f"Chapterhouse/{version} (+{settings.base_url}/)"
        self._session: aiohttp.ClientSession | None = None
        self._checked: set[str] = set()  # scheme://authority prefixes that passed the check
        self._policy = NetworkPolicy.from_settings(
            settings.allow_private_network, settings.private_network_allowlist
        )

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self._policy),
            limit=max(32, self._settings.delivery_concurrency * 2 + 16),  # deliveries + fetches
            limit_per_host=max(4, self._settings.delivery_per_host * 2),
            ttl_dns_cache=300,
            keepalive_timeout=30,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self._user_agent},
            auto_decompress=True,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("transport is not started")
        return self._session

    def _check(self, url: str) -> None:
        """The SSRF check of ``url``, remembered per ``scheme://authority`` prefix: the verdict
        depends on nothing else, and a fan-out sends thousands of requests to a few hosts."""
        prefix = url.split("/", 3)[:3]
        key = "/".join(prefix)
        if key in self._checked:
            return
        check_url(url, policy=self._policy, allow_http=self._settings.allow_http)
        if len(self._checked) >= CHECKED_PREFIXES:
            self._checked.clear()
        self._checked.add(key)

    async def _sign(
        self, request: HttpRequest, signer: Signer | None, scheme: str = CAVAGE
    ) -> HttpRequest:
        """Sign on the event loop: ``cryptography`` holds the GIL while it signs (measured with
        cryptography 45: two threads sign no faster than one), so a thread pool would only add
        two thread hand-offs per request (``bench/fanout.py`` showed about twice the CPU)."""
        if signer is None:
            return request
        sign = sign_request_rfc9421 if scheme == RFC9421 else sign_request_cavage
        return sign(
            request, key_id=signer.key_id, private_key=signer.private_key, now=self._clock.now()
        )

    async def get_json(
        self,
        url: str,
        *,
        signer: Signer | None = None,
        accept: str = AP_ACCEPT,
        content_types: Collection[str] = AP_TYPES,
        cross_origin_redirects: bool = False,
    ) -> Fetched:
        """GET a JSON document, following at most 5 redirects, each checked again.

        ActivityPub documents may only redirect within their origin (their ``id`` must then
        equal the final URL); WebFinger may send us elsewhere.
        """
        url = urlunsplit(urlsplit(url)._replace(fragment=""))
        first = url
        timeout = aiohttp.ClientTimeout(total=self._settings.fetch_timeout_seconds)
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                self._check(url)
            except BlockedDestination as exc:
                raise FetchError(url, str(exc)) from exc
            request = await self._sign(
                HttpRequest.from_mapping("GET", url, {"Accept": accept}, None), signer
            )
            try:
                async with self.session.get(
                    url, headers=dict(request.headers), allow_redirects=False, timeout=timeout
                ) as response:
                    if response.status in {301, 302, 303, 307, 308}:
                        location = response.headers.get("Location")
                        if not location:
                            raise FetchError(url, "redirect without Location", response.status)
                        url = urljoin(url, location)
                        if not cross_origin_redirects and not same_origin(url, first):
                            raise FetchError(url, "redirected to another origin", response.status)
                        continue
                    if not 200 <= response.status < 300:
                        raise FetchError(url, f"answered HTTP {response.status}", response.status)
                    media = (response.content_type or "").lower()
                    if media not in content_types:
                        raise FetchError(
                            url,
                            f"content type {media or 'none'} is not JSON for ActivityPub",
                            response.status,
                        )
                    body = await self._read_capped(response, url)
            except BlockedDestination as exc:
                raise FetchError(url, str(exc)) from exc
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise FetchError(url, f"request failed: {exc.__class__.__name__}: {exc}") from exc
            try:
                return Fetched(url=url, document=orjson.loads(body))
            except orjson.JSONDecodeError as exc:
                raise FetchError(url, "answer is not valid JSON") from exc
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")

    async def _read_capped(self, response: aiohttp.ClientResponse, url: str) -> bytes:
        cap = self._settings.fetch_max_bytes
        if response.content_length is not None and response.content_length > cap:
            raise FetchError(url, f"answer is larger than {cap} bytes", response.status)
        chunks = []
        size = 0
        async for chunk in response.content.iter_chunked(65536):
            size += len(chunk)
            if size > cap:
                raise FetchError(url, f"answer is larger than {cap} bytes", response.status)
            chunks.append(chunk)
        return b"".join(chunks)

    async def post_activity(
        self, inbox: str, body: bytes, *, signer: Signer, scheme: str = CAVAGE
    ) -> PostResult:
        """POST a signed activity; transport failures raise FetchError, answers are returned."""
        try:
            self._check(inbox)
        except BlockedDestination as exc:
            raise FetchError(inbox, str(exc)) from exc
        request = await self._sign(
            HttpRequest.from_mapping(
                "POST",
                inbox,
                {"Content-Type": "application/activity+json", "Accept": AP_ACCEPT},
                body,
            ),
            signer,
            scheme,
        )
        timeout = aiohttp.ClientTimeout(total=self._settings.delivery_timeout_seconds)
        try:
            async with self.session.post(
                inbox,
                data=body,
                headers=dict(request.headers),
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                excerpt = (await response.content.read(512)).decode("utf-8", "replace")
                return PostResult(response.status, response.headers.get("Retry-After"), excerpt)
        except BlockedDestination as exc:
            raise FetchError(inbox, str(exc)) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FetchError(inbox, f"request failed: {exc.__class__.__name__}: {exc}") from exc
