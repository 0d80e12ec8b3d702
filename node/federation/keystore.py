"""Private keys of local actors, parsed once and kept in memory.

Loading an RSA PEM costs tens of milliseconds, so it must never happen per delivery. The
cache belongs to the running app (passed through ``Services``), not to the module.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.federation.transport import Signer
from protocol.ids import IdFactory
from protocol.keys import private_key_from_pem
from storage.models import LocalActor


@dataclass
class KeyStore:
    ids: IdFactory
    _rsa: dict[tuple[int, str], Signer]
    _ed: dict[tuple[int, str], Ed25519PrivateKey]

    @classmethod
    def empty(cls, ids: IdFactory) -> KeyStore:
        return cls(ids, {}, {})

    def rsa_signer(self, actor: LocalActor) -> Signer:
        """The HTTP-signature signer of a local actor (keyed by PEM, so rotation refreshes)."""
        cache_key = (actor.id, actor.rsa_public_pem)
        signer = self._rsa.get(cache_key)
        if signer is None:
            key = private_key_from_pem(actor.rsa_private_pem)
            signer = self._rsa[cache_key] = Signer(self.ids.main_key(actor.name), key)
        return signer

    def ed25519_key(self, actor: LocalActor) -> Ed25519PrivateKey:
        cache_key = (actor.id, actor.ed25519_public_multibase)
        key = self._ed.get(cache_key)
        if key is None:
            loaded = private_key_from_pem(actor.ed25519_private_pem)
            if not isinstance(loaded, Ed25519PrivateKey):
                raise TypeError(f"{actor.name}'s assertion key is not Ed25519")
            key = self._ed[cache_key] = loaded
        return key
