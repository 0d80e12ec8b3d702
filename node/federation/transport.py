"""Outbound HTTP: one pooled keep-alive client, signed requests, caps on time and size.

Every outbound request goes through here, so the SSRF guard, timeouts, the size cap, the
User-Agent and signing are applied in one place.

The client (aiohttp, about a tenth of a second to import) is built at the first request, not at
``start``: every command line run opens a transport with the node's services, and most commands
(``member add``, ``action create``, ``report create`` ...) never make a request. Only the methods
that do import aiohttp; ``tests/node/interfaces/cli/test_lazy_parser.py`` keeps it so.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urljoin, urlsplit, urlunsplit

from node.federation.netpolicy import BlockedDestination, NetworkPolicy, check_url
from node.runtime.clock import Clock
from node.runtime.config import Settings
from protocol.errors import ChapterhouseError, MalformedDocument
from protocol.httpsig import HttpRequest, sign_request_cavage, sign_request_rfc9421
from protocol.ids import same_origin
from protocol.jsondoc import MAX_JSON_DEPTH, load_json_object
from protocol.keys import PrivateKey

if TYPE_CHECKING:
    import aiohttp

AP_ACCEPT: Final = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AP_TYPES: Final = frozenset({"application/activity+json", "application/ld+json"})
JRD_TYPES: Final = frozenset({"application/jrd+json", "application/json"})
MAX_REDIRECTS: Final = 5
CAVAGE: Final = "draft-cavage-12"
RFC9421: Final = "rfc9421"
#: What peers are told when no answer came: the same words whether the connection was refused,
#: timed out, broke, failed DNS or was stopped by the guard after resolving (telling those apart
#: would make the node a port scanner for anyone who can name a URL).
UNREACHABLE: Final = "request failed: unreachable"

log = logging.getLogger(__name__)


class FetchError(ChapterhouseError):
    """A fetch failed; ``status`` is the HTTP status when there was an answer.

    ``str()`` reaches peers and anonymous visitors (a refused key fetch is a 401 detail, a
    remote-follow form shows it), so it names the URL only as it was given and says what went
    wrong in general words: never a resolved or normalised address, nor the client's own error
    text. ``detail`` keeps everything, for logs.
    """

    def __init__(
        self, url: str, message: str, status: int | None = None, *, detail: str | None = None
    ) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url
        self.status = status
        self.detail = f"{url}: {detail}" if detail else str(self)


class Unreachable(FetchError):
    """No answer came: the connection failed, or the SSRF guard refused the destination."""


def _refused(url: str, exc: BlockedDestination) -> Unreachable:
    """The guard refused ``url`` by its text alone: the reason names only what the URL says."""
    log.info("transport.blocked", extra={"url": url, "error": exc.detail})
    return Unreachable(url, str(exc), detail=exc.detail)


def _unreachable(url: str, exc: BaseException) -> Unreachable:
    """No answer came (or the guard refused a resolved address): full detail to the log only."""
    if isinstance(exc, BlockedDestination):
        detail = f"blocked: {exc.detail}"
    else:
        detail = f"{exc.__class__.__name__}: {exc}"
    log.info("transport.unreachable", extra={"url": url, "error": detail})
    return Unreachable(url, UNREACHABLE, detail=detail)


@dataclass(frozen=True, slots=True)
class Signer:
    """Who signs a request: a key id and its already-loaded private key."""

    key_id: str
    private_key: PrivateKey


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # the final URL after redirects
    document: object
    #: The answer's validators, for a conditional GET next time (the directory's refresh).
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class PostResult:
    status: int
    retry_after: str | None
    excerpt: str


CHECKED_URLS = 4096  # remembered SSRF verdicts, forgotten all at once when full


class Transport:
    def __init__(self, settings: Settings, clock: Clock, *, version: str) -> None:
        self._settings = settings
        self._clock = clock
        self._user_agent = f"Chapterhouse/{version} (+{settings.base_url}/)"
        self._session: aiohttp.ClientSession | None = None
        self._started = False
        self._checked: dict[str, str] = {}  # URLs that passed the check -> what to request
        self._policy = NetworkPolicy.from_settings(
            settings.allow_private_network, settings.private_network_allowlist
        )

    async def start(self) -> None:
        """Ready to send; the pooled client itself is built by the first request (``session``)."""
        self._started = True

    def _open_session(self) -> aiohttp.ClientSession:
        import aiohttp

        from node.federation.netguard import GuardedConnector

        connector = GuardedConnector(
            self._policy,
            limit=max(32, self._settings.delivery_concurrency * 2 + 16),  # deliveries + fetches
            limit_per_host=max(4, self._settings.delivery_per_host * 2),
            ttl_dns_cache=300,
            keepalive_timeout=30,
        )
        return aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self._user_agent},
            auto_decompress=True,
        )

    async def close(self) -> None:
        self._started = False
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled client, built on first use (in the running event loop) once started."""
        if self._session is None:
            if not self._started:
                raise RuntimeError("transport is not started")
            self._session = self._open_session()
        return self._session

    def _target(self, url: str) -> str:
        """The SSRF check of ``url``; returns the normalised URL, the only one to request (the
        client must have nothing left to reinterpret). Verdicts are remembered per URL: a
        fan-out sends thousands of deliveries to a few shared inboxes. Raises FetchError."""
        target = self._checked.get(url)
        if target is not None:
            return target
        try:
            target = check_url(url, policy=self._policy, allow_http=self._settings.allow_http)
        except BlockedDestination as exc:
            raise _refused(url, exc) from exc
        if len(self._checked) >= CHECKED_URLS:
            self._checked.clear()
        self._checked[url] = target
        return target

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
        conditions: Mapping[str, str] | None = None,
    ) -> Fetched:
        """GET a JSON document, following at most 5 redirects, each checked again.

        ActivityPub documents may only redirect within their origin (their ``id`` must then
        equal the final URL); WebFinger may send us elsewhere. Every hop requests the normal
        form the guard approved; errors and ``Fetched.url`` name the URL as given (or as the
        redirect spelt it). ``conditions`` (``If-None-Match``, ``If-Modified-Since``) make it
        a conditional GET: an unchanged document is a FetchError with status 304.
        """
        try:
            url = urlunsplit(urlsplit(url)._replace(fragment=""))
        except ValueError as exc:
            raise Unreachable(url, "is not a URL") from exc
        target = first = self._target(url)
        import aiohttp  # here, not at the top: see the docstring

        timeout = aiohttp.ClientTimeout(total=self._settings.fetch_timeout_seconds)
        for _hop in range(MAX_REDIRECTS + 1):
            request = await self._sign(
                HttpRequest.from_mapping(
                    "GET", target, {**(conditions or {}), "Accept": accept}, None
                ),
                signer,
            )
            try:
                async with self.session.get(
                    target, headers=dict(request.headers), allow_redirects=False, timeout=timeout
                ) as response:
                    if response.status in {301, 302, 303, 307, 308}:
                        location = response.headers.get("Location")
                        if not location:
                            raise FetchError(url, "redirect without Location", response.status)
                        try:
                            url = urljoin(target, location)
                        except ValueError as exc:
                            raise FetchError(
                                url, "redirect to something that is not a URL", response.status
                            ) from exc
                        target = self._target(url)
                        if not cross_origin_redirects and not same_origin(target, first):
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
            except (BlockedDestination, aiohttp.ClientError, TimeoutError) as exc:
                raise _unreachable(url, exc) from exc
            try:  # read the one way the inbox reads: no duplicate keys, no graph keywords
                return Fetched(
                    url=url,
                    document=load_json_object(body, max_depth=MAX_JSON_DEPTH, nested_contexts=True),
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                )
            except MalformedDocument as exc:
                raise FetchError(url, f"answer is not a usable JSON object: {exc}") from exc
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
        target = self._target(inbox)
        request = await self._sign(
            HttpRequest.from_mapping(
                "POST",
                target,
                {"Content-Type": "application/activity+json", "Accept": AP_ACCEPT},
                body,
            ),
            signer,
            scheme,
        )
        import aiohttp  # here, not at the top: see the docstring

        timeout = aiohttp.ClientTimeout(total=self._settings.delivery_timeout_seconds)
        try:
            async with self.session.post(
                target,
                data=body,
                headers=dict(request.headers),
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                excerpt = (await response.content.read(512)).decode("utf-8", "replace")
                return PostResult(response.status, response.headers.get("Retry-After"), excerpt)
        except (BlockedDestination, aiohttp.ClientError, TimeoutError) as exc:
            raise _unreachable(inbox, exc) from exc
