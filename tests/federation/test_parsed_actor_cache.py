"""What the resolver keeps for proofs (every proof asks for its owner): the parse of a stored
actor document, never past a change of it (a rotated assertion key is used at once), decoded
assertion keys, and canonical ``@context`` values, which change no proof's outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest

from node.federation.actor_rows import store_actor_row
from node.federation.proofs import check_object_proof
from protocol.actors import ActorSpec, Multikey, build_actor, parse_actor
from protocol.errors import MalformedDocument, ProofError
from protocol.events import ActionCall, build_event
from protocol.keys import (
    ed25519_public_to_multibase,
    generate_ed25519_key,
    generate_rsa_key,
    public_key_to_pem,
)
from protocol.proofs import create_proof

CHAPTER = "https://far.example/actors/riverside"


def _document(rsa_pem: str, multibase: str) -> dict[str, object]:
    return build_actor(
        ActorSpec(
            id=CHAPTER,
            type="Group",
            preferred_username="riverside",
            name="Riverside",
            summary=None,
            url=CHAPTER,
            inbox=f"{CHAPTER}/inbox",
            outbox=f"{CHAPTER}/outbox",
            followers=f"{CHAPTER}/followers",
            following=f"{CHAPTER}/following",
            shared_inbox="https://far.example/inbox",
            public_key_id=f"{CHAPTER}#main-key",
            public_key_pem=rsa_pem,
            assertion_method=Multikey(f"{CHAPTER}#ed25519-key", CHAPTER, multibase),
            kind="chapter",
        )
    )


async def test_a_changed_document_is_parsed_again_at_once(nodes) -> None:
    node = await nodes()
    services = node.services
    rsa_pem = public_key_to_pem(generate_rsa_key().public_key())
    first, second = (
        ed25519_public_to_multibase(generate_ed25519_key().public_key()) for _ in range(2)
    )
    now = services.clock.now()  # both stored at the same instant: only the document differs

    async def store(multibase: str) -> None:
        doc = _document(rsa_pem, multibase)
        actor = parse_actor(doc, allow_http=services.settings.allow_http)
        async with services.db.write() as session:
            await store_actor_row(session, actor, doc, now, retire_for=timedelta(0))

    await store(first)
    held = await services.resolver.actor(CHAPTER)
    assert [k.public_key_multibase for k in held.assertion_methods] == [first]
    assert await services.resolver.actor(CHAPTER) is held  # the same document: kept parse

    await store(second)  # the chapter rotated its assertion key (an Update, a refetch)
    rotated = await services.resolver.actor(CHAPTER)
    assert [k.public_key_multibase for k in rotated.assertion_methods] == [second]


async def test_assertion_keys_are_decoded_once_and_junk_is_refused(nodes) -> None:
    resolver = (await nodes()).services.resolver
    multibase = ed25519_public_to_multibase(generate_ed25519_key().public_key())
    key = resolver.assertion_key(multibase)
    assert resolver.assertion_key(multibase) is key
    for _ in range(2):  # a refusal is not remembered as a key
        with pytest.raises(MalformedDocument):
            resolver.assertion_key("z" + "1" * 40)


async def test_proofs_share_canonical_contexts_and_still_refuse_what_they_refused(nodes) -> None:
    """The canonical ``@context`` kept between proofs never lets a changed document, or a
    proof whose context differs from the document's, through; junk contexts are not kept."""
    services = (await nodes()).services
    ed = generate_ed25519_key()
    rsa_pem = public_key_to_pem(generate_rsa_key().public_key())
    doc = _document(rsa_pem, ed25519_public_to_multibase(ed.public_key()))
    async with services.db.write() as session:
        actor = parse_actor(doc, allow_http=services.settings.allow_http)
        await store_actor_row(session, actor, doc, services.clock.now(), retire_for=timedelta(0))
    now = services.clock.now()
    call = ActionCall(
        id=f"{CHAPTER}/events/1",
        chapter=CHAPTER,
        title="Litter pick",
        start=now + timedelta(days=1),
        end=now + timedelta(days=1, hours=3),
        published=now,
        followers=f"{CHAPTER}/followers",
    )
    signed = create_proof(
        build_event(call), ed, verification_method=f"{CHAPTER}#ed25519-key", created=now
    )
    for _ in range(2):  # the second time with the context kept from the first
        await check_object_proof(services, signed, CHAPTER)

    tampered = {**signed, "name": "Something else"}
    with pytest.raises(ProofError):
        await check_object_proof(services, tampered, CHAPTER)
    proof = dict(signed["proof"])  # type: ignore[arg-type]
    proof["@context"] = ["https://www.w3.org/ns/activitystreams"]
    with pytest.raises(ProofError):  # (then a refetch of the key, which fails here)
        await check_object_proof(services, {**signed, "proof": proof}, CHAPTER)

    long_context = ["https://www.w3.org/ns/activitystreams", {"x": "y" * 10_000}]
    with pytest.raises(ProofError):
        await check_object_proof(services, {**signed, "@context": long_context}, CHAPTER)
    for n in range(40):  # many contexts, each refused: the kept ones stay few and short
        with pytest.raises(ProofError):
            await check_object_proof(services, {**signed, "@context": [f"urn:x:{n}"]}, CHAPTER)
    kept = services.resolver.proof_contexts()
    assert len(kept) <= 17 and all(len(k) <= 8_192 for k in kept)
