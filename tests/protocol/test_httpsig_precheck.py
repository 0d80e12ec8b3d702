"""``precheck_signature``: what an inbox checks before it fetches any key.

Exactly one signature, headers that parse, and a declared algorithm this node verifies; the
RFC 9421 vectors (several labels, read one at a time with ``label=``) still verify.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.errors import SignatureError, SignatureFailure
from protocol.httpsig import (
    HttpRequest,
    precheck_signature,
    sign_request_cavage,
    sign_request_rfc9421,
    verify_request,
)
from protocol.keys import PrivateKey, generate_ed25519_key, generate_rsa_key, public_key_from_pem
from tests.vectors import VECTORS, load_http_request

RFC = VECTORS / "rfc9421"
RFC_CASES = {case["section"]: case for case in json.loads((RFC / "cases.json").read_text())}
RFC_CREATED = datetime.fromtimestamp(1618884473, UTC)
NOW = datetime(2027, 4, 12, 9, 0, tzinfo=UTC)
INBOX = "https://chapter.example/inbox"
KEY_ID = "https://remote.example/users/alice#main-key"
OTHER_KEY_ID = "https://remote.example/users/bob#main-key"


@pytest.fixture(scope="module")
def rsa_key() -> PrivateKey:
    return generate_rsa_key(2048)


def _post() -> HttpRequest:
    return HttpRequest.from_mapping(
        "POST", INBOX, {"Content-Type": "application/activity+json"}, b'{"type":"Follow"}'
    )


def _reason(request: HttpRequest) -> SignatureFailure:
    with pytest.raises(SignatureError) as info:
        precheck_signature(request)
    return info.value.reason


def _swap(request: HttpRequest, name: str, old: str, new: str) -> HttpRequest:
    headers = tuple((k, v.replace(old, new) if k == name else v) for k, v in request.headers)
    return replace(request, headers=headers)


def _add(request: HttpRequest, *headers: tuple[str, str]) -> HttpRequest:
    return replace(request, headers=request.headers + headers)


def test_one_good_signature_gives_its_key_id(rsa_key):
    cavage = sign_request_cavage(_post(), key_id=KEY_ID, private_key=rsa_key, now=NOW)
    assert precheck_signature(cavage) == KEY_ID
    assert precheck_signature(_swap(cavage, "Signature", "rsa-sha256", "hs2019")) == KEY_ID
    for alg in (None, "rsa-v1_5-sha256", "rsa-pss-sha512"):
        rfc = sign_request_rfc9421(
            _post(), key_id=KEY_ID, private_key=rsa_key, now=NOW, algorithm=alg
        )
        assert precheck_signature(rfc) == KEY_ID
    moved = tuple(
        ("Authorization", f"Signature {v}") if k == "Signature" else (k, v)
        for k, v in cavage.headers
    )
    assert precheck_signature(replace(cavage, headers=moved)) == KEY_ID


@pytest.mark.parametrize("alg", ["hmac-sha256", "ecdsa-sha256", "rsa-sha512", "ed25519"])
def test_cavage_algorithm_we_do_not_verify_is_refused_with_its_key_id(rsa_key, alg):
    signed = sign_request_cavage(_post(), key_id=KEY_ID, private_key=rsa_key, now=NOW)
    with pytest.raises(SignatureError) as info:
        precheck_signature(_swap(signed, "Signature", "rsa-sha256", alg))
    assert info.value.reason is SignatureFailure.UNSUPPORTED_ALGORITHM
    assert info.value.key_id == KEY_ID


@pytest.mark.parametrize("alg", ["hmac-sha256", "ecdsa-p256-sha256", "rsa-sha256"])
def test_rfc9421_alg_we_do_not_verify_is_refused(rsa_key, alg):
    signed = sign_request_rfc9421(
        _post(), key_id=KEY_ID, private_key=rsa_key, now=NOW, algorithm="rsa-v1_5-sha256"
    )
    refused = _swap(signed, "Signature-Input", '"rsa-v1_5-sha256"', f'"{alg}"')
    assert _reason(refused) is SignatureFailure.UNSUPPORTED_ALGORITHM


def test_created_under_rsa_sha256_is_refused_before_a_fetch(rsa_key):
    ed = generate_ed25519_key()
    signed = sign_request_cavage(
        _post(),
        key_id=KEY_ID,
        private_key=ed,
        now=NOW,
        headers=["(request-target)", "host", "(created)", "digest"],
    )
    assert precheck_signature(signed) == KEY_ID  # hs2019: fine
    assert _reason(_swap(signed, "Signature", "hs2019", "rsa-sha256")) is SignatureFailure.MALFORMED


def test_two_rfc9421_signatures_are_refused(rsa_key):
    first = sign_request_rfc9421(_post(), key_id=KEY_ID, private_key=rsa_key, now=NOW)
    both = sign_request_rfc9421(
        first, key_id=OTHER_KEY_ID, private_key=rsa_key, now=NOW, label="sig2"
    )
    with pytest.raises(SignatureError) as info:
        precheck_signature(both)
    assert info.value.reason is SignatureFailure.MULTIPLE_SIGNATURES
    assert "sig1" in info.value.detail and "sig2" in info.value.detail
    # A second label on one side only is a second signature too.
    garbage = _add(first, ("Signature", "sig2=:AAAA:"))
    assert _reason(garbage) is SignatureFailure.MULTIPLE_SIGNATURES
    extra_input = _add(first, ("Signature-Input", f'sig2=("@method");keyid="{OTHER_KEY_ID}"'))
    assert _reason(extra_input) is SignatureFailure.MULTIPLE_SIGNATURES
    # One label on each side, but not the same one.
    relabelled = _swap(first, "Signature", "sig1=", "sig9=")
    assert _reason(relabelled) is SignatureFailure.MALFORMED


def test_two_schemes_at_once_are_refused(rsa_key):
    cavage = sign_request_cavage(_post(), key_id=KEY_ID, private_key=rsa_key, now=NOW)
    text = cavage.header("signature")
    also_authorization = _add(cavage, ("Authorization", f"Signature {text}"))
    assert _reason(also_authorization) is SignatureFailure.MULTIPLE_SIGNATURES
    rfc = sign_request_rfc9421(_post(), key_id=KEY_ID, private_key=rsa_key, now=NOW)
    assert _reason(_add(rfc, ("Authorization", f"Signature {text}"))) is (
        SignatureFailure.MULTIPLE_SIGNATURES
    )
    # A bearer token beside a signature is not a second signature.
    assert precheck_signature(_add(cavage, ("Authorization", "Bearer abc"))) == KEY_ID
    # Two cavage Signature fields are joined: the repeated keyId makes the header unusable.
    assert _reason(_add(cavage, ("Signature", text or ""))) is SignatureFailure.MALFORMED


def test_no_signature_and_garbage():
    assert _reason(_post()) is SignatureFailure.NO_SIGNATURE
    for name, value in (("Signature", "garbage"), ("Signature-Input", "sig1=garbage(")):
        assert _reason(_add(_post(), (name, value))) is SignatureFailure.MALFORMED
    assert _reason(_add(_post(), ("Signature-Input", ""), ("Signature", ""))) is (
        SignatureFailure.MALFORMED
    )


@pytest.mark.parametrize("section", ["B.2.1", "B.2.2", "B.2.3", "B.2.5", "B.2.6"])
def test_rfc9421_request_vectors_pass_the_precheck(section):
    case = RFC_CASES[section]
    request = _add(
        load_http_request(RFC / "test-request.http"),
        ("Signature-Input", case["signature_input"]),
        ("Signature", case["signature"]),
    )
    keyid = case["signature_input"].split('keyid="', 1)[1].split('"', 1)[0]
    assert precheck_signature(request) == keyid


def test_vectors_with_several_labels_still_verify_one_at_a_time():
    """The one-signature rule is the inbox's: ``verify_request(label=...)`` reads either."""
    b23, b26 = RFC_CASES["B.2.3"], RFC_CASES["B.2.6"]
    request = _add(
        load_http_request(RFC / "test-request.http"),
        ("Signature-Input", f"{b23['signature_input']}, {b26['signature_input']}"),
        ("Signature", f"{b23['signature']}, {b26['signature']}"),
    )
    assert _reason(request) is SignatureFailure.MULTIPLE_SIGNATURES
    pss = public_key_from_pem((RFC / "keys" / "test-key-rsa-pss.pub.pem").read_text())
    ed = public_key_from_pem((RFC / "keys" / "test-key-ed25519.pub.pem").read_text())
    first = verify_request(
        request, pss, now=RFC_CREATED, strict=False, label="sig-b23", algorithm="rsa-pss-sha512"
    )
    second = verify_request(request, ed, now=RFC_CREATED, strict=False, label="sig-b26")
    assert (first.key_id, second.key_id) == ("test-key-rsa-pss", "test-key-ed25519")


HEADER_NAMES = st.sampled_from(["Signature", "Signature-Input", "Authorization", "Date"])
HEADER_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            'sig1=("@method");keyid="k"',
            'sig1=("@method");keyid="k";alg="hmac-sha256", sig2=("@method");keyid="j"',
            "sig1=:AAAA:, sig2=:AAAA:",
            'keyId="k",algorithm="hmac-sha256",signature="AAAA"',
            'Signature keyId="k",signature="AAAA"',
        ]
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=4))
def test_precheck_fails_only_with_signature_errors(headers):
    request = HttpRequest.from_mapping("POST", INBOX, headers, b"{}")
    with contextlib.suppress(SignatureError):
        assert isinstance(precheck_signature(request), str)
