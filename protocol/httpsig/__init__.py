"""HTTP message signatures: draft-cavage-http-signatures-12 and RFC 9421.

The fediverse still mostly speaks draft-cavage (Mastodon's ``Signature`` header); newer peers
send RFC 9421 (``Signature-Input`` + ``Signature``). Both are verified here, purely: the caller
passes the request as a value, the already-resolved public key and ``now``.

``verify_request`` applies Chapterhouse's policy (DESIGN §3) on top of the cryptography when
``strict`` is set: the signature must cover the request target, the host, a date, and — for
requests with a body — a digest that matches the body, and the date must be within ``window``.

Deliberate choices, where specs or peers differ:

* cavage ``hs2019`` lets the key decide: RSA → RSASSA-PKCS1-v1_5/SHA-256 (as Mastodon), Ed25519.
* cavage without ``headers=``: ``(created)`` (the cavage-12 default) when a ``created`` parameter
  is present, else ``date`` (earlier drafts, Mastodon, and the spec's own C.1 test value).
* cavage ``(created)``/``(expires)`` are refused with ``rsa-sha256`` (cavage-12 §2.3).
* No Mastodon-style retry without the query string: a GET's query selects what is returned.
* Under ``strict``, a cavage ``Host`` header must name the request URL's authority, so a request
  signed for another host cannot be replayed here.
* RFC 9421 supports the request-derived components, ``@query-param`` and ``@status`` (for
  building response bases only); field parameters (``;sf``, ``;key``, ``;bs``, ``;req``) are not.
* ``precheck_signature`` (what an inbox runs before fetching a key) allows exactly one signature
  per request and refuses an algorithm not verified here (``hmac-sha256`` …) without a fetch.
* RFC 9421 structured fields are parsed and serialised by http-sf (``fields``); repeated
  dictionary or parameter keys are refused, and ``@signature-params`` is the member as received.

Modules: ``message`` (request/response values), ``algorithms``, ``freshness`` (time windows),
``fields`` (structured fields), ``components`` (RFC 9421 signature bases), ``cavage``,
``rfc9421``, ``verify`` (the receiver's entry points), ``result`` and ``failures``.
"""

from __future__ import annotations

from protocol.httpsig.algorithms import (
    ED25519,
    RFC9421_ALGORITHMS,
    RSA_PSS_SHA512,
    RSA_V1_5_SHA256,
)
from protocol.httpsig.cavage import cavage_signing_string, sign_request_cavage
from protocol.httpsig.components import rfc9421_signature_base
from protocol.httpsig.freshness import DEFAULT_WINDOW
from protocol.httpsig.message import HttpRequest, HttpResponse
from protocol.httpsig.result import CAVAGE, RFC9421, Scheme, VerifiedSignature
from protocol.httpsig.rfc9421 import sign_request_rfc9421
from protocol.httpsig.verify import precheck_signature, signature_key_id, verify_request

__all__ = [
    "CAVAGE",
    "DEFAULT_WINDOW",
    "ED25519",
    "RFC9421",
    "RFC9421_ALGORITHMS",
    "RSA_PSS_SHA512",
    "RSA_V1_5_SHA256",
    "HttpRequest",
    "HttpResponse",
    "Scheme",
    "VerifiedSignature",
    "cavage_signing_string",
    "precheck_signature",
    "rfc9421_signature_base",
    "sign_request_cavage",
    "sign_request_rfc9421",
    "signature_key_id",
    "verify_request",
]
