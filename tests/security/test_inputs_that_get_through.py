"""Inputs that used to get through the inbox (issue 14), against a real node on loopback:
list-valued ``type``, duplicate JSON keys, and JSON-LD keywords that change a document's meaning
under expansion."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select

from protocol.activities import build_create
from protocol.jsonld import CONTEXT, PUBLIC
from storage.models import ActionCall, ImpactReport, InboxItem
from tests.rig.bulk import add_followers
from tests.rig.hostile import HostileServer
from tests.rig.nodes import eventually
from tests.security.helpers import (
    Honest,
    Target,
    assert_nothing_stored,
    assert_serves_honest,
    no_key_fetch,
    rows,
)


def _event(hostile: HostileServer, ident: str, **changes: Any) -> dict[str, Any]:
    eve = hostile.actor_id("eve")
    doc = {
        "id": hostile.url(f"/actors/eve/actions/{ident}"),
        "type": "Event",
        "attributedTo": eve,
        "name": "River clean-up",
        "content": "<p>Bring gloves.</p>",
        "startTime": "2026-11-01T10:00:00+00:00",  # started: reports on it are taken
        "endTime": "2026-11-01T13:00:00+00:00",
        "published": "2026-10-01T10:00:00Z",
        "to": [PUBLIC],
        "cc": [f"{eve}/followers"],
    }
    doc.update(changes)
    return doc


def _report(hostile: HostileServer, ident: str, call: str, **changes: Any) -> dict[str, Any]:
    doc = {
        "id": hostile.url(f"/actors/eve/reports/{ident}"),
        "type": "Note",
        "attributedTo": hostile.actor_id("eve"),
        "content": "<p>We were 12.</p>",
        "published": "2026-11-01T17:00:00Z",
        "to": [PUBLIC],
        "chapterhouse:reportOf": call,
        "chapterhouse:metrics": [{"metric": "participants", "unit": "people", "value": 12}],
    }
    doc.update(changes)
    return doc


async def _handled(target: Target, activity_id: str) -> InboxItem:
    found: list[InboxItem] = []

    async def done() -> bool:
        async with target.node.services.db.read() as session:
            item = await session.scalar(
                select(InboxItem).where(InboxItem.activity_id == activity_id)
            )
        found[:] = [item] if item is not None else []
        return item is not None and item.state != "received"

    await eventually(done, timeout=10, what=f"{activity_id} to be handled")
    return found[0]


async def test_list_valued_types_are_taken_and_handled_like_single_ones(
    target: Target, hostile: HostileServer, honest: Honest
):
    """``["Event"]`` and ``["Note", "Article"]`` crashed the origin rules with a 500."""
    await target.with_member()
    eve = hostile.actor_id("eve")
    await add_followers(target.node, eve, [(target.member, None)])
    event = _event(hostile, "listed", type=["Event"])
    create = build_create(hostile.activity_id(), eve, event)
    reply = await hostile.post(target.inbox, create, as_actor="eve")
    assert reply.status == 202, reply
    assert (await _handled(target, create["id"])).error is None

    async def call_stored() -> bool:
        async with target.node.services.db.read() as session:
            row = await session.scalar(select(ActionCall).where(ActionCall.ap_id == event["id"]))
        return row is not None

    await eventually(call_stored, what="the ['Event'] call to be stored")

    report = _report(hostile, "listed", event["id"], type=["Note", "Article"])
    create = build_create(hostile.activity_id(), eve, report)
    reply = await hostile.post(target.inbox, create, as_actor="eve")
    assert reply.status == 202, reply
    assert (await _handled(target, create["id"])).error is None

    async def report_stored() -> bool:
        async with target.node.services.db.read() as session:
            row = await session.scalar(
                select(ImpactReport).where(ImpactReport.ap_id == report["id"])
            )
        return row is not None

    await eventually(report_stored, what="the ['Note', 'Article'] report to be stored")
    await assert_serves_honest(target, honest)


@pytest.mark.parametrize("kind", [["Event"], ["Event", "Note"], ["Note", "Event"]])
async def test_an_event_in_a_list_must_still_name_its_chapter(
    target: Target, hostile: HostileServer, honest: Honest, kind: list[str]
):
    eve = hostile.actor_id("eve")
    unattributed = {k: v for k, v in _event(hostile, "anon").items() if k != "attributedTo"}
    plain = await hostile.post(
        target.inbox, build_create(hostile.activity_id(), eve, unattributed), as_actor="eve"
    )
    assert plain.status == 403, plain
    before = await rows(target.node)
    listed = {**unattributed, "type": kind}
    reply = await hostile.post(
        target.inbox, build_create(hostile.activity_id(), eve, listed), as_actor="eve"
    )
    assert reply.status == 403, reply
    assert (
        reply.detail
        == plain.detail
        == ("an Event must name the chapter it belongs to (attributedTo)")
    )
    await assert_nothing_stored(target.node, before)
    await assert_serves_honest(target, honest)


def _follow_text(hostile: HostileServer, target: Target, *actors: str, extra: str = "") -> bytes:
    """A Follow written by hand, so that a key can appear twice."""
    pairs = [
        '"@context": "https://www.w3.org/ns/activitystreams"',
        f'"id": "{hostile.activity_id("follow")}"',
        '"type": "Follow"',
        *(f'"actor": "{actor}"' for actor in actors),
        f'"object": "{target.chapter}"',
    ]
    return ("{" + ", ".join(pairs) + extra + "}").encode()


async def test_a_duplicate_key_is_refused_with_400_and_nothing_is_stored(
    target: Target, hostile: HostileServer, honest: Honest
):
    """``{"actor": mallory, "actor": eve}`` signed by eve: a reader keeping the first key sees
    mallory, ours kept the last and took it. Now it is refused before anything is fetched."""
    mallory, eve = hostile.actor_id("mallory"), hostile.actor_id("eve")
    before = await rows(target.node)
    twice = _follow_text(hostile, target, mallory, eve)
    reply = await hostile.post(target.inbox, twice, as_actor="eve")
    assert reply.status == 400, reply
    assert reply.detail == "duplicate key 'actor' in a JSON object"
    nested = build_create(
        hostile.activity_id(), eve, _event(hostile, "twice", attributedTo="PLACEHOLDER")
    )
    text = orjson.dumps(nested).replace(
        b'"attributedTo":"PLACEHOLDER"',
        f'"attributedTo":"{mallory}", "attributedTo" : "{eve}"'.encode(),
    )
    reply = await hostile.post(target.inbox, text, as_actor="eve")
    assert reply.status == 400, reply
    assert "duplicate key 'attributedTo'" in reply.detail
    await assert_nothing_stored(target.node, before)
    no_key_fetch(hostile)  # refused on reading, before any key was fetched

    # A string holding '":' is no duplicate: the exact check runs, and the Follow is taken.
    quoted = _follow_text(hostile, target, eve, extra=', "summary": "she said \\": hi\\" : ok"')
    assert orjson.loads(quoted)["summary"] == 'she said ": hi" : ok'
    reply = await hostile.post(target.inbox, quoted, as_actor="eve")
    assert reply.status == 202, reply
    await assert_serves_honest(target, honest)


@pytest.mark.parametrize("keyword", ["@included", "@reverse", "@graph"])
async def test_json_ld_keywords_that_change_meaning_are_refused_with_400(
    target: Target, hostile: HostileServer, honest: Honest, keyword: str
):
    eve = hostile.actor_id("eve")
    before = await rows(target.node)
    smuggled = {"id": hostile.url("/actors/eve/actions/x"), "type": "Event", "name": "Hidden"}
    top = build_create(hostile.activity_id(), eve, _event(hostile, "top"))
    top[keyword] = [smuggled] if keyword != "@reverse" else {"attributedTo": smuggled}
    reply = await hostile.post(target.inbox, top, as_actor="eve")
    assert reply.status == 400, reply
    assert reply.detail == f"the JSON-LD keyword {keyword} is not accepted (in the top level)"
    inside = build_create(hostile.activity_id(), eve, _event(hostile, "inside"))
    inside["object"][keyword] = {"id": smuggled["id"]}
    reply = await hostile.post(target.inbox, inside, as_actor="eve")
    assert reply.status == 400, reply
    assert reply.detail == f"the JSON-LD keyword {keyword} is not accepted (in object)"
    await assert_nothing_stored(target.node, before)
    no_key_fetch(hostile)
    await assert_serves_honest(target, honest)


async def test_a_nested_context_other_than_the_top_level_one_is_refused_with_400(
    target: Target, hostile: HostileServer, honest: Honest
):
    eve = hostile.actor_id("eve")
    before = await rows(target.node)
    create = build_create(hostile.activity_id(), eve, _event(hostile, "ctx"))
    # The embedded Event redefines attributedTo for a JSON-LD reader; we would read it as is.
    create["object"]["@context"] = [*CONTEXT, {"attributedTo": "as:audience"}]
    reply = await hostile.post(target.inbox, create, as_actor="eve")
    assert reply.status == 400, reply
    assert reply.detail.startswith("a nested @context is not accepted (in object)")
    redefine = build_create(hostile.activity_id(), eve, _event(hostile, "ctx2"))
    redefine["@context"] = [*CONTEXT, {"ctx": "@context"}]
    reply = await hostile.post(target.inbox, redefine, as_actor="eve")
    assert reply.status == 400, reply
    assert "may not define 'ctx'" in reply.detail
    await assert_nothing_stored(target.node, before)
    no_key_fetch(hostile)
    await assert_serves_honest(target, honest)
