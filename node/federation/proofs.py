"""Signing our objects (FEP-8b32, eddsa-jcs-2022) and checking the proofs on others'.

A proof lets any node relay an object without being trusted: the receiver checks it against
the key the origin actor publishes in ``assertionMethod``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from node.federation.resolver import ResolveError
from node.runtime.services import Services
from protocol.errors import MalformedDocument, ProofError
from protocol.proof_digest import verify_proof_digest
from protocol.proofs import (
    IntegrityProofError,
    ProofFailure,
    controller_of,
    create_proof,
    proof_verification_method,
)
from storage.models import LocalActor

#: Why a proof fails at any key: it expired, or is dated too far ahead (not worth a refetch).
TIME_FAILURES = frozenset({ProofFailure.EXPIRED, ProofFailure.NOT_YET_VALID})


def sign_object(
    services: Services, actor: LocalActor, doc: Mapping[str, object]
) -> dict[str, object]:
    key = services.keys.ed25519_key(actor)
    return create_proof(
        doc,
        key,
        verification_method=services.ids.ed25519_key(actor.name),
        created=services.clock.now(),
    )


async def check_object_proof(services: Services, doc: Mapping[str, object], owner: str) -> None:
    """Raise ProofError unless ``doc`` carries a valid proof by ``owner``'s published key."""
    method = proof_verification_method(doc)
    if controller_of(method) != owner:
        raise ProofError(f"the proof is by {controller_of(method)}, not by {owner}")
    for refresh in (False, True):
        try:
            actor = await services.resolver.actor(owner, refresh=refresh)
        except ResolveError as exc:
            raise ProofError(f"cannot fetch the key of {owner}: {exc}") from exc
        key = next((k for k in actor.assertion_methods if k.id == method), None)
        if key is None:
            if refresh:
                raise ProofError(f"{owner} does not publish the key {method}")
            continue
        try:
            public = services.resolver.assertion_key(key.public_key_multibase)
        except MalformedDocument as exc:
            raise ProofError(f"the key {method} is not a usable Ed25519 Multikey") from exc
        try:
            # verify_proof's checks, with the @context canonicalised once for all proofs
            # (the same few contexts on every document, and most of the canonicalising).
            verify_proof_digest(
                doc,
                public,
                now=services.clock.now(),
                skew=timedelta(seconds=services.settings.signature_window_seconds),
                cache=services.resolver.proof_contexts(),
            )
            return
        except IntegrityProofError as exc:
            if refresh or exc.reason in TIME_FAILURES:  # no fresher key changes the time
                raise
    raise ProofError("unreachable")
