"""What a remote chapter puts in its documents: HTML and links in action calls, numbers in
impact reports."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from protocol.activities import build_create, build_update
from protocol.jsonld import PUBLIC
from storage.models import ActionCall
from tests.rig.api import call_api
from tests.rig.bulk import add_followers
from tests.rig.hostile import HostileServer, send
from tests.rig.nodes import eventually
from tests.security.helpers import (
    Honest,
    Target,
    assert_nothing_stored,
    assert_serves_honest,
    no_key_fetch,
    only_fetched,
    rows,
)

NASTY_HTML = (
    "<p>Bring <b>gloves</b> and boots.</p>"
    "<script>alert(1)</script>"
    '<a href="javascript:alert(2)">map</a>'
    '<a href=" JaVaScRiPt:alert(3)">map 2</a>'
    '<a href="jav&#x09;ascript:alert(4)">map 3</a>'
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg1KTwvc2NyaXB0Pg==">map 4</a>'
    '<img src="x" onerror="alert(6)">'
    '<p onclick="alert(7)" style="background:url(javascript:alert(8))">click</p>'
    '<iframe src="https://evil.example/"></iframe>'
    "<svg><script>alert(9)</script></svg>"
    '<a href="https://example.org/route">route</a>'
)
BAD_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "style", "base", "form", "meta"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:")


class _Audit(HTMLParser):
    """Every executable thing left in a piece of HTML (the parser decodes entities)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BAD_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            squeezed = "".join(ch for ch in (value or "") if ch > " ").lower()
            if name.startswith("on"):
                self.problems.append(f"{tag}[{name}]")
            elif name == "style" and "javascript:" in squeezed:
                self.problems.append(f"{tag}[style]={value!r}")
            elif squeezed.startswith(BAD_SCHEMES):
                self.problems.append(f"{tag}[{name}]={value!r}")


def unsafe_html(html: str) -> list[str]:
    audit = _Audit()
    audit.feed(html)
    audit.close()
    return audit.problems


def unsafe_url(url: object) -> bool:
    squeezed = "".join(ch for ch in str(url or "") if ch > " ").lower()
    return squeezed.startswith(BAD_SCHEMES)


def _event(hostile: HostileServer, ident: str, **changes: Any) -> dict[str, Any]:
    eve = hostile.actor_id("eve")
    doc = {
        "id": hostile.url(f"/actors/eve/actions/{ident}"),
        "type": "Event",
        "attributedTo": eve,
        "name": "River clean-up",
        "content": "<p>Bring gloves.</p>",
        "mediaType": "text/html",
        "startTime": "2027-04-12T10:00:00+01:00",
        "endTime": "2027-04-12T13:00:00+01:00",
        "published": "2026-11-01T10:00:00Z",
        "to": [PUBLIC],
        "cc": [f"{eve}/followers"],
    }
    doc.update(changes)
    return doc


async def _followed_eve(target: Target, hostile: HostileServer) -> None:
    """bea (on the target) follows eve, so eve's calls are kept there."""
    await target.with_member()
    await add_followers(target.node, hostile.actor_id("eve"), [(target.member, None)])


async def _stored_call(target: Target, call_id: str) -> ActionCall:
    async def arrived() -> bool:
        async with target.node.services.db.read() as session:
            return (
                await session.scalar(select(ActionCall).where(ActionCall.ap_id == call_id))
                is not None
            )

    await eventually(arrived, timeout=5, what=f"{call_id} to be stored")
    async with target.node.services.db.read() as session:
        row = await session.scalar(select(ActionCall).where(ActionCall.ap_id == call_id))
    assert row is not None
    return row


async def _feed_item(target: Target, call_id: str) -> dict[str, Any]:
    status, feed = await call_api(target.node.base_url, target.token, "GET", "/api/v1/feed")
    assert status == 200, feed
    items = [i for i in feed["items"] if i["id"] == call_id]
    assert len(items) == 1, feed
    return items[0]


async def test_script_and_javascript_links_in_a_remote_action_call_are_stored_sanitised(
    target: Target, hostile: HostileServer, honest: Honest
):
    await _followed_eve(target, hostile)
    event = _event(hostile, "nasty", content=NASTY_HTML)
    assert unsafe_html(NASTY_HTML)  # the audit sees what it must see
    reply = await hostile.post(
        target.inbox,
        build_create(hostile.activity_id(), event["attributedTo"], event),
        as_actor="eve",
    )
    assert reply.status == 202, reply
    row = await _stored_call(target, event["id"])
    stored = row.document["content"]
    assert unsafe_html(stored) == [], stored
    assert "gloves" in stored
    item = await _feed_item(target, event["id"])
    assert unsafe_html(item["description"] or "") == [], item["description"]
    # An Update carrying new nasty content is sanitised too.
    updated = {
        **event,
        "content": NASTY_HTML + "<p>Now with boots.</p>",
        "updated": "2026-11-02T10:00:00Z",
    }
    reply = await hostile.post(
        target.inbox,
        build_update(hostile.activity_id(), event["attributedTo"], updated),
        as_actor="eve",
    )
    assert reply.status == 202, reply

    async def updated_in() -> bool:
        async with target.node.services.db.read() as session:
            current = await session.scalar(
                select(ActionCall).where(ActionCall.ap_id == event["id"])
            )
        return current is not None and "boots" in current.document["content"]

    await eventually(updated_in, timeout=5, what="the update to be applied")
    async with target.node.services.db.read() as session:
        current = await session.scalar(select(ActionCall).where(ActionCall.ap_id == event["id"]))
    assert current is not None and unsafe_html(current.document["content"]) == []
    assert unsafe_html((await _feed_item(target, event["id"]))["description"] or "") == []
    only_fetched(hostile, "/actors/eve")
    await assert_serves_honest(target, honest)


async def test_javascript_urls_in_a_remote_action_call_never_reach_members(
    target: Target, hostile: HostileServer, honest: Honest
):
    """``url`` and an online location's ``url`` are links members click: never javascript:.

    The call itself is fine, so it is taken (202) like any call with a field we cannot use,
    and the bad links are dropped or neutralised before anyone sees them."""
    await _followed_eve(target, hostile)
    event = _event(
        hostile,
        "links",
        url="javascript:alert(document.cookie)",
        location={"type": "VirtualLocation", "url": " JavaScript:alert(1)"},
    )
    reply = await hostile.post(
        target.inbox,
        build_create(hostile.activity_id(), event["attributedTo"], event),
        as_actor="eve",
    )
    assert reply.status == 202, reply
    row = await _stored_call(target, event["id"])
    item = await _feed_item(target, event["id"])
    assert not unsafe_url(item["url"]) and not unsafe_url(item["online_url"]), item
    assert not unsafe_url(row.document.get("url")), row.document.get("url")
    location = row.document.get("location") or {}
    assert not unsafe_url(location.get("url")), location
    only_fetched(hostile, "/actors/eve")
    await assert_serves_honest(target, honest)


def _report_doc(hostile: HostileServer, name: str, value: Any) -> dict[str, Any]:
    eve = hostile.actor_id("eve")
    return {
        "id": hostile.url(f"/actors/eve/reports/{name}"),
        "type": "Note",
        "attributedTo": eve,
        "inReplyTo": hostile.url("/actors/eve/actions/1"),
        "content": "What we did.",
        "published": "2027-04-12T17:00:00Z",
        "to": [PUBLIC],
        "chapterhouse:reportOf": hostile.url("/actors/eve/actions/1"),
        "chapterhouse:metrics": [
            {"metric": "participants", "unit": "people", "value": value, "method": "counted"}
        ],
    }


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (-5, "must not be negative"),
        (-0.5, "must not be negative"),
        (1e300, "implausibly large"),
        (10**16, "implausibly large"),
        ("1e400", "must be a number"),
        ("5", "must be a number"),
        (True, "must be a number"),
        (None, "must be a number"),
        ([5], "must be a number"),
    ],
)
async def test_impact_report_with_invalid_values_is_422(
    target: Target, hostile: HostileServer, honest: Honest, value: Any, words: str
):
    eve = hostile.actor_id("eve")
    before = await rows(target.node)
    for build in (build_create, build_update):
        doc = _report_doc(hostile, f"bad-{build.__name__}", value)
        reply = await hostile.post(
            target.inbox, build(hostile.activity_id(), eve, doc), as_actor="eve"
        )
        assert reply.status == 422, (build.__name__, value, reply)
        assert "invalid impact report" in reply.detail and words in reply.detail, reply.detail
    await assert_nothing_stored(target.node, before, except_=("RemoteActor",))
    # The same report with an honest number is taken (so the refusals above could have failed).
    good = _report_doc(hostile, "good", 5)
    reply = await hostile.post(
        target.inbox, build_create(hostile.activity_id(), eve, good), as_actor="eve"
    )
    assert reply.status == 202, reply
    only_fetched(hostile, "/actors/eve", "/actors/eve/actions/1")
    await assert_serves_honest(target, honest)


async def test_impact_report_with_1e400_is_refused_before_the_key_is_fetched(
    target: Target, hostile: HostileServer, honest: Honest
):
    """``1e400`` is valid JSON grammar but no double: the node's JSON parser refuses it (400),
    so the body is refused before the signature is even checked."""
    eve = hostile.actor_id("eve")
    before = await rows(target.node)
    for literal in (b"1e400", b"-1e400", b"1E+400"):
        doc = _report_doc(hostile, "huge", 7)
        body = orjson.dumps(build_create(hostile.activity_id(), eve, doc))
        assert body.count(b'"value":7') == 1
        body = body.replace(b'"value":7', b'"value":' + literal)
        reply = await send(
            target.inbox, body, hostile.signed_headers(target.inbox, body, as_actor="eve")
        )
        assert reply.status == 400, (literal, reply)
        assert "not valid JSON" in reply.detail, reply.detail
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    await assert_serves_honest(target, honest)
