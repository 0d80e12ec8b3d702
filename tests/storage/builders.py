"""Rows the storage tests build directly (no keys are generated: the columns only need text)."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.models import LocalActor

NOW = datetime(2027, 4, 12, 9, 0, tzinfo=UTC)


def local_actor(name: str, kind: str = "chapter") -> LocalActor:
    return LocalActor(
        name=name,
        ap_id=f"https://h.example/actors/{name}",
        actor_type="Group",
        kind=kind,
        title=None,
        summary=None,
        manually_approves_followers=False,
        rsa_private_pem="x",
        rsa_public_pem="y",
        ed25519_private_pem="z",
        ed25519_public_multibase="z6Mk",
        created_at=NOW,
    )
