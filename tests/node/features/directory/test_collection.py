"""Reading a peer's directory: only that peer's own actors, tolerant about their fields,
capped, blocked actors dropped; anything else refuses the whole directory."""

from __future__ import annotations

import pytest

from node.features.directory.collection import read_directory
from protocol.errors import MalformedDocument

ORIGIN = "https://b.example"


def item(handle: str, **extra: object) -> dict[str, object]:
    return {
        "id": f"{ORIGIN}/actors/{handle}",
        "type": "Group",
        "preferredUsername": handle,
        **extra,
    }


def doc(*items: object) -> dict[str, object]:
    return {"type": "OrderedCollection", "orderedItems": list(items)}


def test_items_are_read_tolerantly_and_capped():
    read = read_directory(
        doc(
            item(
                "rhone",
                name="Rhône",
                location={"type": "Place", "latitude": 45.76, "longitude": "east"},
                tag=[{"type": "Hashtag", "name": "#Rivers"}, "junk"],
                knowsLanguage=["fr", 7],
                **{"chapterhouse:followerCount": -4, "chapterhouse:kind": "empire"},
            ),
            item("second", **{"chapterhouse:kind": "campaign"}),
            item("third"),
        ),
        ORIGIN,
        max_entries=2,
    )
    assert list(read.entries) == [f"{ORIGIN}/actors/rhone", f"{ORIGIN}/actors/second"]
    rhone = read.entries[f"{ORIGIN}/actors/rhone"]
    assert rhone["kind"] == "chapter" and rhone["title"] == "Rhône"
    assert rhone["latitude"] is None  # coordinates drop as a pair
    assert rhone["topics"] == ["rivers"] and rhone["languages"] == ["fr"]
    assert rhone["followers"] is None
    assert read.entries[f"{ORIGIN}/actors/second"]["kind"] == "campaign"
    assert read.dropped == 1


def test_members_elsewhere_are_origins_to_learn_not_entries():
    campaign = item(
        "rivers",
        **{
            "chapterhouse:kind": "campaign",
            "chapterhouse:memberChapters": [
                "https://c.example/actors/spree",
                f"{ORIGIN}/actors/own",
                "not a url",
            ],
        },
    )
    read = read_directory(doc(campaign), ORIGIN, max_entries=10)
    assert read.origins == {"https://c.example"}
    assert list(read.entries) == [f"{ORIGIN}/actors/rivers"]


def test_blocked_actors_are_dropped():
    read = read_directory(
        doc(item("good"), item("bad")),
        ORIGIN,
        max_entries=10,
        refused=lambda actor: actor.endswith("/bad"),
    )
    assert list(read.entries) == [f"{ORIGIN}/actors/good"] and read.dropped == 1


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"type": "Note"},
        {"type": "OrderedCollection", "orderedItems": {"id": "x"}},
        doc("https://b.example/actors/a"),
        doc(item("ok"), {"id": "https://c.example/actors/other", "type": "Group"}),
        doc({"type": "Group"}),
    ],
)
def test_anything_else_refuses_the_whole_directory(bad):
    with pytest.raises(MalformedDocument):
        read_directory(bad, ORIGIN, max_entries=10)


def test_a_refused_directory_carries_its_wording_and_data():
    """Issue 18: a refusal names what it found as data beside a wording marked for the
    catalogues, so it can be said in its reader's language; ``str()`` stays the English."""
    with pytest.raises(MalformedDocument) as refused:
        read_directory({"type": "Note"}, ORIGIN, max_entries=10)
    assert refused.value.wording == "the directory's type is {kind!r}"
    assert refused.value.params == {"kind": "Note"}
    assert str(refused.value) == "the directory's type is 'Note'"

    other = "https://c.example/actors/other"
    with pytest.raises(MalformedDocument) as foreign:
        read_directory(doc({"id": other, "type": "Group"}), ORIGIN, max_entries=10)
    assert foreign.value.wording == "item {item!r} is not an actor of {origin}"
    assert foreign.value.params == {"item": other, "origin": ORIGIN}
