"""The two refusals every part of the package raises, built in one place so reasons stay uniform.

Everything a peer sent that cannot be understood is ``MALFORMED``; a signature that is sound but
does not cover what the policy demands is ``MISSING_COMPONENT``.
"""

from __future__ import annotations

from collections.abc import Iterable

from protocol.errors import SignatureError, SignatureFailure


def malformed(detail: str, key_id: str | None = None) -> SignatureError:
    """A signature header (or a field it covers) that cannot be understood."""
    return SignatureError(SignatureFailure.MALFORMED, detail, key_id)


def missing(components: Iterable[str]) -> SignatureError:
    """A valid-looking signature that leaves out components the policy requires."""
    return SignatureError(
        SignatureFailure.MISSING_COMPONENT, f"signature does not cover {', '.join(components)}"
    )
