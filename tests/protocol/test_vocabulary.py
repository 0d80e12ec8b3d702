"""Actors and activities: what we build parses back, and real peers' payloads parse."""

import json

import pytest

from protocol.activities import build_accept, build_follow, build_undo, parse_activity
from protocol.actors import ActorSpec, Multikey, build_actor, parse_actor
from protocol.errors import MalformedDocument, UnsupportedType
from protocol.jsonld import AS_CONTEXT, CONTEXT, DATA_INTEGRITY_CONTEXT, SECURITY_CONTEXT
from tests.vectors import VECTORS

MOBILIZON = VECTORS / "payloads" / "mobilizon-fixtures"


def _spec(**overrides):
    base = "https://greenpark.example/actors/greenpark"
    values = dict(
        id=base,
        type="Group",
        preferred_username="greenpark",
        name="Green Park",
        summary=None,
        url=base,
        inbox=f"{base}/inbox",
        outbox=f"{base}/outbox",
        followers=f"{base}/followers",
        following=f"{base}/following",
        shared_inbox="https://greenpark.example/inbox",
        public_key_id=f"{base}#main-key",
        public_key_pem="-----BEGIN PUBLIC KEY-----\nX\n-----END PUBLIC KEY-----\n",
        assertion_method=Multikey(f"{base}#ed25519-key", base, "z6MkTest"),
        manually_approves_followers=True,
        kind="chapter",
    )
    values.update(overrides)
    return ActorSpec(**values)


def test_built_group_parses_back_with_both_keys():
    doc = build_actor(_spec())
    assert doc["@context"][:3] == [AS_CONTEXT, SECURITY_CONTEXT, DATA_INTEGRITY_CONTEXT]
    actor = parse_actor(json.loads(json.dumps(doc)))
    assert actor.type == "Group"
    assert actor.kind == "chapter"
    assert actor.manually_approves_followers is True
    assert actor.delivery_inbox == "https://greenpark.example/inbox"
    assert actor.public_key_id.endswith("#main-key")
    assert actor.assertion_methods[0].public_key_multibase == "z6MkTest"


def test_context_defines_every_extension_term_inline():
    inline = CONTEXT[3]
    for term in (
        "joinMode",
        "participantCount",
        "timezone",
        "maximumAttendeeCapacity",
        "ical:status",
        "chapterhouse",
        "PostalAddress",
    ):
        assert term in inline
    assert inline["chapterhouse"] == "https://w3id.org/chapterhouse#"


def test_real_mastodon_actor_parses():
    doc = json.loads((MOBILIZON / "mastodon-actor.json").read_text())
    actor = parse_actor(doc)
    assert actor.type == "Person"
    assert actor.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert actor.shared_inbox is not None


def test_actor_with_inbox_on_another_origin_is_refused():
    doc = build_actor(_spec(inbox="https://evil.example/inbox"))
    with pytest.raises(MalformedDocument, match="origin"):
        parse_actor(doc)


def test_key_owned_by_someone_else_is_not_the_actors_key():
    doc = build_actor(_spec())
    doc["publicKey"]["owner"] = "https://evil.example/actors/x"
    assert parse_actor(doc).public_key_pem is None


@pytest.mark.parametrize(
    "doc",
    [
        [],
        "x",
        {"type": "Note", "id": "https://a.example/n"},
        {"type": "Person", "id": "https://a.example/p"},
    ],
)
def test_non_actors_are_refused(doc):
    with pytest.raises((MalformedDocument, UnsupportedType)):
        parse_actor(doc)


def test_follow_accept_undo_round_trip():
    follow = build_follow(
        "https://a.example/activities/1",
        "https://a.example/actors/alice",
        "https://b.example/actors/greenpark",
    )
    parsed = parse_activity(follow)
    assert (parsed.type, parsed.actor, parsed.object_id) == (
        "Follow",
        "https://a.example/actors/alice",
        "https://b.example/actors/greenpark",
    )
    accept = parse_activity(
        build_accept("https://b.example/activities/2", "https://b.example/actors/greenpark", follow)
    )
    assert accept.object_id == "https://a.example/activities/1"
    assert accept.object is not None and "@context" not in accept.object
    undo = parse_activity(
        build_undo("https://a.example/activities/3", "https://a.example/actors/alice", follow)
    )
    assert undo.object_type == "Follow"
    with pytest.raises(ValueError, match="own"):
        build_undo("https://x.example/1", "https://x.example/actors/eve", follow)


@pytest.mark.parametrize(
    "name",
    [
        *sorted(p.name for p in MOBILIZON.glob("*activity*.json")),
        "mastodon-announce.json",
        "mastodon-delete.json",
        "mastodon-update.json",
        "mastodon-undo-announce.json",
        "mastodon-unfollow-activity.json",
    ],
)
def test_real_peer_activities_parse_or_are_refused_cleanly(name):
    doc = json.loads((MOBILIZON / name).read_text())
    try:
        activity = parse_activity(doc)
    except (MalformedDocument, UnsupportedType):
        return
    assert activity.id.startswith("https://")
    assert activity.actor.startswith("https://")


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        (
            {"type": "Follow", "actor": "https://a.example/a", "object": "https://b.example/b"},
            MalformedDocument,
        ),
        (
            {"id": "https://a.example/1", "type": "Follow", "object": "https://b.example/b"},
            MalformedDocument,
        ),
        (
            {"id": "https://a.example/1", "type": "Follow", "actor": "https://a.example/a"},
            MalformedDocument,
        ),
        (
            {"id": "https://a.example/1", "type": "Explode", "actor": "https://a.example/a"},
            UnsupportedType,
        ),
        (
            {
                "id": "javascript:alert(1)",
                "type": "Follow",
                "actor": "https://a.example/a",
                "object": "https://b.example/b",
            },
            MalformedDocument,
        ),
    ],
)
def test_malformed_activities_are_refused(doc, error):
    with pytest.raises(error):
        parse_activity(doc)
