"""The reports a rollup counts: inline while few, else a paged collection its proof pins.

A rollup names every report it sums so that anyone can check the totals. Inline, each source
costs ~210 bytes: past a few thousand the rollup outgrows what receivers accept in one request
(our ``max_body_bytes`` is 1 MiB) and the largest campaigns could no longer tell anyone their
totals. So a rollup with many sources carries a link instead: an ``OrderedCollection`` of the
sources in pages, with their count and the SHA-256 of their canonical (RFC 8785) list. The link
sits inside the signed rollup, so the campaign's proof covers the digest, and whoever walks the
pages checks the list they assembled against it: the pages themselves need no signature, and
a page served for another version of the rollup is detected, never counted.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from protocol.errors import MalformedDocument
from protocol.ids import parse_id, same_origin
from protocol.jsonld import CONTEXT, as_list, id_of
from protocol.proofs import canonical_json
from protocol.vocabulary import has_type

#: Sources a rollup may name in all (inline or paged): a bound on what a receiver assembles.
MAX_SOURCES: Final = 1_000_000
#: What a rollup's ``chapterhouse:sources`` link holds besides its id.
DIGEST_KEY: Final = "chapterhouse:sha256"


@dataclass(frozen=True, slots=True)
class Source:
    """One report a rollup counts, pinned to the exact version by its JCS SHA-256."""

    report: str
    chapter: str
    sha256: str

    def as_json(self) -> dict[str, str]:
        return {"report": self.report, "chapter": self.chapter, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class SourcesLink:
    """Where a rollup's sources are, how many, and the digest of their list (in order)."""

    id: str
    total: int
    sha256: str


def sources_digest(sources: Sequence[Source]) -> str:
    """SHA-256 (hex) of the sources' canonical JSON list, in the rollup's order."""
    return hashlib.sha256(canonical_json([s.as_json() for s in sources])).hexdigest()


def parse_source(item: object, *, allow_http: bool) -> Source:
    if not isinstance(item, Mapping):
        raise MalformedDocument("each source must be an object {report, chapter, sha256}")
    sha = item.get("sha256")
    if not _is_sha256(sha):
        raise MalformedDocument("each source needs the SHA-256 (hex) of the report it counts")
    return Source(
        parse_id(item.get("report"), allow_http=allow_http),
        parse_id(item.get("chapter"), allow_http=allow_http),
        str(sha),
    )


def build_link(link: SourcesLink) -> dict[str, object]:
    """The value of a rollup's ``chapterhouse:sources`` when the sources are paged."""
    return {
        "id": link.id,
        "type": "OrderedCollection",
        "totalItems": link.total,
        DIGEST_KEY: link.sha256,
    }


def parse_link(value: Mapping[str, object], rollup_id: str, *, allow_http: bool) -> SourcesLink:
    """A rollup's link to its sources: on the rollup's own origin (nobody else answers for
    them), with a count within bounds and a digest."""
    link_id = parse_id(value.get("id"), allow_http=allow_http)
    if not same_origin(link_id, rollup_id):
        raise MalformedDocument("a rollup's sources must be served by the rollup's own origin")
    total = value.get("totalItems")
    if isinstance(total, bool) or not isinstance(total, int) or not 0 <= total <= MAX_SOURCES:
        raise MalformedDocument(f"the sources' totalItems must be an integer 0..{MAX_SOURCES}")
    digest = value.get(DIGEST_KEY)
    if not _is_sha256(digest):
        raise MalformedDocument(f"the sources link needs {DIGEST_KEY} (hex SHA-256 of the list)")
    return SourcesLink(link_id, total, str(digest))


def page_count(total: int, page_size: int) -> int:
    return max(1, math.ceil(total / page_size))


def page_id(link_id: str, page: int) -> str:
    return f"{link_id}?page={page}"


def build_collection(link: SourcesLink) -> dict[str, object]:
    """The collection a link names: its count, digest and first page."""
    return {"@context": CONTEXT, **build_link(link), "first": page_id(link.id, 1)}


def build_page(
    link: SourcesLink, page: int, items: Sequence[Source], *, page_size: int
) -> dict[str, object]:
    """Page ``page`` (from 1) of the sources, with the link to the next while there is one."""
    doc: dict[str, object] = {
        "@context": CONTEXT,
        "id": page_id(link.id, page),
        "type": "OrderedCollectionPage",
        "partOf": link.id,
        "startIndex": (page - 1) * page_size,
        "orderedItems": [s.as_json() for s in items],
    }
    if page < page_count(link.total, page_size):
        doc["next"] = page_id(link.id, page + 1)
    return doc


@dataclass(frozen=True, slots=True)
class SourcesPage:
    items: tuple[Source, ...]
    next: str | None


def parse_page(doc: object, link: SourcesLink, *, allow_http: bool) -> SourcesPage:
    """One page of a link's sources (``first`` of the collection when given the collection).
    Pages must belong to the link and stay on its origin."""
    if not isinstance(doc, Mapping):
        raise MalformedDocument("a sources page must be a JSON object")
    if has_type(doc, "OrderedCollection") and "orderedItems" not in doc:
        first = id_of(doc.get("first"))
        if first is None:
            raise MalformedDocument("the sources collection has no first page")
        return SourcesPage((), _same_origin_page(first, link, allow_http))
    if not has_type(doc, "OrderedCollectionPage") or id_of(doc.get("partOf")) != link.id:
        raise MalformedDocument(f"not a page of {link.id}")
    raw = as_list(doc.get("orderedItems"))
    if len(raw) > link.total:
        raise MalformedDocument("a sources page holds more items than the collection")
    items = tuple(parse_source(item, allow_http=allow_http) for item in raw)
    following = id_of(doc.get("next"))
    return SourcesPage(
        items, None if following is None else _same_origin_page(following, link, allow_http)
    )


def check_assembled(sources: Sequence[Source], link: SourcesLink) -> None:
    """The sources walked from the pages are the ones the rollup pinned, or nothing is."""
    if len(sources) != link.total:
        raise MalformedDocument(
            f"the pages hold {len(sources)} sources, the rollup says {link.total}"
        )
    if sources_digest(sources) != link.sha256:
        raise MalformedDocument("the pages' sources differ from the ones the rollup pinned")


def _same_origin_page(page: str, link: SourcesLink, allow_http: bool) -> str:
    page = parse_id(page, allow_http=allow_http)
    if not same_origin(page, link.id):
        raise MalformedDocument("a sources page must stay on the rollup's origin")
    return page


def _is_sha256(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )
