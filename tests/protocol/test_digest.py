import json

import pytest

from protocol.digest import (
    make_content_digest,
    make_digest,
    verify_content_digest,
    verify_digest,
)
from protocol.errors import DigestMismatch, SignatureError, SignatureFailure
from tests.vectors import VECTORS, load_http_request, load_http_response

HELLO_SHA256 = "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="  # "Hello world", Mastodon spec


def test_make_digest_matches_mastodon_vector():
    assert make_digest(b"Hello world") == f"SHA-256={HELLO_SHA256}"


def test_cavage_request_digest_verifies():
    request = load_http_request(VECTORS / "cavage-12" / "test-request.http")
    assert request.body == b'{"hello": "world"}'
    header = request.header("digest")
    assert header == make_digest(request.body)
    verify_digest(header, request.body)


def test_mastodon_style_request_digest_verifies():
    data = json.loads((VECTORS / "cavage-12" / "mastodon-style-request.json").read_text())
    body = data["body"].encode()
    assert make_digest(body) == data["headers"]["Digest"]
    verify_digest(data["headers"]["Digest"], body)


@pytest.mark.parametrize("name", ["test-request.http", "test-response.http"])
def test_rfc9421_content_digest_sha512_verifies(name):
    path = VECTORS / "rfc9421" / name
    message = load_http_response(path) if "response" in name else load_http_request(path)
    header = message.header("content-digest")
    assert header is not None
    assert message.body is not None
    assert make_content_digest(message.body, "sha-512") == header
    verify_content_digest(header, message.body)


def test_make_content_digest_default_is_sha256():
    assert make_content_digest(b"Hello world") == f"sha-256=:{HELLO_SHA256}:"
    with pytest.raises(ValueError):
        make_content_digest(b"x", "md5")


@pytest.mark.parametrize(
    "header",
    [
        f"sha-256={HELLO_SHA256}",  # algorithm names are case-insensitive
        f"MD5=whatever, SHA-256={HELLO_SHA256}",  # unknown algorithms are ignored
        f"SHA-256={HELLO_SHA256},SHA-512=" + make_content_digest(b"Hello world", "sha-512")[9:-1],
    ],
)
def test_verify_digest_variants(header):
    verify_digest(header, b"Hello world")


def test_verify_digest_mismatch():
    with pytest.raises(DigestMismatch) as info:
        verify_digest(f"SHA-256={HELLO_SHA256}", b"Hello world!")
    assert info.value.reason is SignatureFailure.DIGEST_MISMATCH
    # Every supported entry must match, not just one of them.
    wrong_512 = make_content_digest(b"other", "sha-512")[9:-1]
    with pytest.raises(DigestMismatch):
        verify_digest(f"SHA-256={HELLO_SHA256}, SHA-512={wrong_512}", b"Hello world")


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("MD5=Q2hlY2sgSW50ZWdyaXR5IQ==", SignatureFailure.DIGEST_MISSING),
        ("SHA=abc", SignatureFailure.DIGEST_MISSING),
        ("", SignatureFailure.MALFORMED),
        ("SHA-256", SignatureFailure.MALFORMED),
        ("SHA-256=not base64!", SignatureFailure.MALFORMED),
    ],
)
def test_verify_digest_refusals(header, reason):
    with pytest.raises(SignatureError) as info:
        verify_digest(header, b"Hello world")
    assert info.value.reason is reason


def test_verify_content_digest_mismatch_and_refusals():
    with pytest.raises(DigestMismatch):
        verify_content_digest(make_content_digest(b"a"), b"b")
    verify_content_digest(
        make_content_digest(b"a") + ";p=1, " + make_content_digest(b"a", "sha-512"), b"a"
    )
    for header, reason in [
        ("md5=:Q2hlY2sgSW50ZWdyaXR5IQ==:", SignatureFailure.DIGEST_MISSING),
        (f"sha-256={HELLO_SHA256}", SignatureFailure.MALFORMED),  # not a byte sequence
        ("sha-256=:!!:", SignatureFailure.MALFORMED),
        ("", SignatureFailure.MALFORMED),
        ("sha-256=:" + HELLO_SHA256 + ":,", SignatureFailure.MALFORMED),
    ]:
        with pytest.raises(SignatureError) as info:
            verify_content_digest(header, b"Hello world")
        assert info.value.reason is reason, header
