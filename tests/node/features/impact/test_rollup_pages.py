"""A rollup with many sources links to them: the link is pinned by the signed rollup (count and
digest), and the pages a walker assembles are the pinned list or an error, never a mix."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from node.features.impact.rollup_pages import SourcesChanged, walk_sources
from protocol.errors import MalformedDocument
from protocol.impact import Rollup, Total, build_rollup, parse_rollup
from protocol.rollup_sources import (
    Source,
    SourcesLink,
    build_collection,
    build_page,
    page_count,
    sources_digest,
)

HUB = "https://hub.example/actors/europe"
LINK_ID = f"{HUB}/rollup/sources"
SOURCES = [
    Source(
        f"https://c{i}.example/actors/c/reports/{i}", f"https://c{i}.example/actors/c", f"{i:064x}"
    )
    for i in range(5)
]


def _link(sources: list[Source] = SOURCES) -> SourcesLink:
    return SourcesLink(LINK_ID, len(sources), sources_digest(sources))


def _rollup(link: SourcesLink | None) -> dict[str, object]:
    rollup = Rollup(
        id=f"{HUB}/rollup",
        campaign=HUB,
        rollup_of=(),
        totals=(Total("participants", "people", Decimal(5)),),
        sources=() if link else tuple(SOURCES),
        chapter_count=5,
        updated=datetime(2026, 12, 7, tzinfo=UTC),
        sources_link=link,
    )
    return build_rollup(rollup, content="Together, 5 chapters.")


def _served(sources: list[Source], size: int, link: SourcesLink) -> dict[str, object]:
    """What the campaign's node serves for ``link``: the collection and its pages."""
    docs: dict[str, object] = {link.id: build_collection(link)}
    for page in range(1, page_count(len(sources), size) + 1):
        chunk = sources[(page - 1) * size : page * size]
        doc = build_page(link, page, chunk, page_size=size)
        docs[str(doc["id"])] = doc
    return docs


def _fetch(docs: dict[str, object]):
    async def fetch(url: str) -> object:
        return docs[url]

    return fetch


def test_a_linked_rollup_round_trips_with_its_link_and_no_inline_sources() -> None:
    parsed = parse_rollup(_rollup(_link()))
    assert parsed.sources == ()
    assert parsed.sources_link == _link()
    inline = parse_rollup(_rollup(None))
    assert inline.sources == tuple(SOURCES) and inline.sources_link is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "https://elsewhere.example/sources"}, "own origin"),
        ({"totalItems": -1}, "totalItems"),
        ({"totalItems": True}, "totalItems"),
        ({"chapterhouse:sha256": "Z" * 64}, "sha256"),
        ({"chapterhouse:sha256": None}, "sha256"),
    ],
)
def test_a_malformed_link_is_refused(change: dict[str, object], message: str) -> None:
    doc = _rollup(_link())
    doc["chapterhouse:sources"] = {**doc["chapterhouse:sources"], **change}  # type: ignore[dict-item]
    with pytest.raises(MalformedDocument, match=message):
        parse_rollup(doc)


@pytest.mark.parametrize("size", [1, 2, 5, 1000])
async def test_walking_the_pages_gives_the_pinned_list_in_order(size: int) -> None:
    link = _link()
    got = await walk_sources(_fetch(_served(SOURCES, size, link)), link, allow_http=False)
    assert got == SOURCES


async def test_pages_of_another_version_are_refused_whole() -> None:
    link = _link()  # what the signed rollup pinned
    newer = [*SOURCES[:4], Source(SOURCES[4].report, SOURCES[4].chapter, "f" * 64)]
    served = _served(newer, 2, SourcesLink(LINK_ID, len(newer), sources_digest(newer)))
    with pytest.raises(SourcesChanged, match="differ"):
        await walk_sources(_fetch(served), link, allow_http=False)
    more = [*SOURCES, SOURCES[0]]
    served = _served(more, 2, SourcesLink(LINK_ID, len(more), sources_digest(more)))
    with pytest.raises(SourcesChanged, match="more than 5") as raised:
        await walk_sources(_fetch(served), link, allow_http=False)
    # Worded for the catalogues: a page says it in its reader's language, numbers its way.
    assert raised.value.wording == "the pages of {link} hold more than {total} sources"
    assert dict(raised.value.params) == {"link": LINK_ID, "total": 5}


async def test_pages_that_loop_or_leave_the_origin_are_refused() -> None:
    link = _link()
    served = _served(SOURCES, 2, link)
    looping = dict(served)
    first = dict(served[f"{LINK_ID}?page=1"])  # type: ignore[arg-type]
    first["orderedItems"] = []
    first["next"] = f"{LINK_ID}?page=1"
    looping[f"{LINK_ID}?page=1"] = first
    with pytest.raises(MalformedDocument, match="do not end"):
        await walk_sources(_fetch(looping), link, allow_http=False)
    away = dict(served)
    page = dict(served[f"{LINK_ID}?page=1"])  # type: ignore[arg-type]
    page["next"] = "https://elsewhere.example/page2"
    away[f"{LINK_ID}?page=1"] = page
    with pytest.raises(MalformedDocument, match="origin"):
        await walk_sources(_fetch(away), link, allow_http=False)
    stranger = dict(served)
    foreign = dict(served[f"{LINK_ID}?page=1"])  # type: ignore[arg-type]
    foreign["partOf"] = f"{HUB}/other"
    stranger[f"{LINK_ID}?page=1"] = foreign
    with pytest.raises(MalformedDocument, match="not a page of"):
        await walk_sources(_fetch(stranger), link, allow_http=False)
