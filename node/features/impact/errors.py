"""The protocol's refusals as the impact feature raises them itself, worded for the catalogues.

``MalformedDocument`` and ``ProofError`` belong to the protocol layer and take a finished English
sentence; a refusal the impact feature words (a page that redirects elsewhere, a proof by the
wrong key) is also said on pages and by ``chapterhouse verify``, so it is raised as one of
these: still the protocol's class for every ``except`` that catches it, with the ``wording``
and ``params`` of a ``WordedError`` (``ChapterhouseError.spoken``).
"""

from __future__ import annotations

from protocol.errors import MalformedDocument, ProofError, WordedError


class Malformed(MalformedDocument, WordedError):
    """A document the impact feature refuses: ``Malformed(N_("{url} ..."), url=url)``."""


class Unproven(ProofError, WordedError):
    """A proof the impact feature refuses: ``Unproven(N_("signed by {signer} ..."), ...)``."""
