"""FEP-8b32 proofs and time: ``expires`` is enforced, and ``created`` may not lie further ahead of
the verifier's clock than clocks drift. The clock is the caller's (``now``); protocol reads none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from protocol.keys import generate_ed25519_key
from protocol.proofs import (
    CLOCK_SKEW,
    IntegrityProofError,
    ProofFailure,
    create_proof,
    verify_proof,
)

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
KEY = generate_ed25519_key()
METHOD = "https://chapter.example/actors/greenpark#ed25519-key"
REPORT = {
    "id": "https://chapter.example/actors/greenpark/reports/1",
    "type": "Note",
    "attributedTo": "https://chapter.example/actors/greenpark",
}


def proven(created: datetime = NOW, expires: datetime | None = None) -> dict[str, object]:
    return create_proof(REPORT, KEY, verification_method=METHOD, created=created, expires=expires)


def fails(reason: ProofFailure, doc: dict[str, object], **kwargs: object) -> str:
    with pytest.raises(IntegrityProofError) as info:
        verify_proof(doc, KEY.public_key(), **kwargs)  # type: ignore[arg-type]
    assert info.value.reason is reason, info.value
    return str(info.value)


def test_expires_is_written_into_the_signed_proof() -> None:
    doc = proven(expires=NOW + timedelta(days=30))
    assert doc["proof"]["expires"] == "2026-12-01T12:00:00Z"  # type: ignore[index]
    assert verify_proof(doc, KEY.public_key(), now=NOW).expires == NOW + timedelta(days=30)
    later = {**doc, "proof": {**doc["proof"], "expires": "2036-12-01T12:00:00Z"}}  # type: ignore[dict-item]
    fails(ProofFailure.INVALID, later, now=NOW)  # extending it breaks the signature


def test_a_proof_whose_expires_has_passed_is_refused() -> None:
    doc = proven(created=NOW - timedelta(days=2), expires=NOW - timedelta(days=1))
    message = fails(ProofFailure.EXPIRED, doc, now=NOW)
    assert "expired at 2026-10-31T12:00:00Z" in message
    fails(ProofFailure.EXPIRED, proven(expires=NOW), now=NOW)  # at the instant: expired
    assert verify_proof(doc, KEY.public_key(), now=NOW - timedelta(days=1, seconds=1))


def test_no_skew_is_granted_to_expires() -> None:
    doc = proven(created=NOW - timedelta(days=1), expires=NOW - timedelta(seconds=1))
    fails(ProofFailure.EXPIRED, doc, now=NOW, skew=timedelta(days=365))


def test_a_proof_created_in_the_future_beyond_the_skew_is_refused() -> None:
    ahead = proven(created=NOW + CLOCK_SKEW + timedelta(seconds=1))
    message = fails(ProofFailure.NOT_YET_VALID, ahead, now=NOW)
    assert "more than 1:00:00 after now" in message
    assert verify_proof(proven(created=NOW + CLOCK_SKEW), KEY.public_key(), now=NOW)
    fails(
        ProofFailure.NOT_YET_VALID,
        proven(created=NOW + timedelta(minutes=5)),
        now=NOW,
        skew=timedelta(minutes=1),
    )
    assert verify_proof(
        proven(created=NOW + timedelta(minutes=5)),
        KEY.public_key(),
        now=NOW,
        skew=timedelta(minutes=10),
    )


def test_an_old_proof_without_expires_still_verifies() -> None:
    doc = proven(created=NOW - timedelta(days=3650))
    assert verify_proof(doc, KEY.public_key(), now=NOW).created == NOW - timedelta(days=3650)


@pytest.mark.parametrize("expires", ["tomorrow", "2026-12-01T12:00:00", 1800000000, None, []])
def test_a_malformed_expires_is_refused(expires: object) -> None:
    doc = proven()
    doc["proof"] = {**doc["proof"], "expires": expires}  # type: ignore[dict-item]
    assert "expires" in fails(ProofFailure.MALFORMED, doc, now=NOW)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        verify_proof(proven(), KEY.public_key(), now=NOW.replace(tzinfo=None))
