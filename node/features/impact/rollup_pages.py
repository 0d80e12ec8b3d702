"""Walking a rollup's paged sources (``protocol/rollup_sources.py``) into the list it pinned.

Used wherever a linked rollup is read: a campaign counting another campaign's rollup
(``follow_ups.expand_rollup``) and ``chapterhouse verify``. Whatever the pages say, the result is
the list whose count and digest the signed rollup carries, or an error: a page served for a
newer version of the rollup (the campaign republished meanwhile) is :class:`SourcesChanged`,
and nothing from it is used.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from node.features.impact.errors import Malformed
from node.federation.transport import Signer, Transport
from protocol.errors import N_, MalformedDocument, WordedError
from protocol.ids import same_origin
from protocol.rollup_sources import Source, SourcesLink, check_assembled, parse_page

Fetch = Callable[[str], Awaitable[object]]


class SourcesChanged(MalformedDocument, WordedError):
    """The pages no longer hold the sources this version of the rollup pinned (worded, as
    ``SourcesChanged(N_("..."), link=...)``, for the catalogues)."""


async def walk_sources(fetch: Fetch, link: SourcesLink, *, allow_http: bool) -> list[Source]:
    """Every source the link's pages hold, checked against the link's count and digest.
    At most one page more than there are sources is fetched (an empty collection has a page)."""
    sources: list[Source] = []
    url: str | None = link.id
    fetched = 0
    while url is not None:
        fetched += 1
        if fetched > link.total + 2:  # the collection itself, then at least one source a page
            raise Malformed(N_("the pages of {link} do not end"), link=link.id)
        page = parse_page(await fetch(url), link, allow_http=allow_http)
        sources.extend(page.items)
        if len(sources) > link.total:
            raise SourcesChanged(
                N_("the pages of {link} hold more than {total} sources"),
                link=link.id,
                total=link.total,
            )
        url = page.next
    try:
        check_assembled(sources, link)
    except MalformedDocument as exc:
        raise SourcesChanged(exc.wording or str(exc), **exc.params) from exc
    return sources


def origin_fetch(transport: Transport, signer: Signer | None) -> Fetch:
    """Fetch a page from its own origin (a redirect elsewhere is refused)."""

    async def fetch(url: str) -> object:
        fetched = await transport.get_json(url, signer=signer)
        if not same_origin(fetched.url, url):
            raise Malformed(N_("{url} redirected to another origin"), url=url)
        return fetched.document

    return fetch
