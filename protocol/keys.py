"""Key material: generation, PEM and Multikey (multibase) I/O for RSA and Ed25519.

RSA keys sign HTTP requests (what the fediverse verifies); Ed25519 keys sign FEP-8b32 object
proofs and are published as ``Multikey`` (``publicKeyMultibase``). Anything else is refused at
load time, so later code only ever sees the two supported key types.
"""

from __future__ import annotations

from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from protocol.errors import MalformedDocument

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey

MIN_RSA_BITS: Final = 2048
MAX_RSA_BITS: Final = 4096
RSA_PUBLIC_EXPONENT: Final = 65537

# Multicodec prefixes (unsigned varints): ed25519-pub 0xed -> ed 01, ed25519-priv 0x1300 -> 80 26.
_ED25519_PUB_CODEC: Final = b"\xed\x01"
_ED25519_PRIV_CODEC: Final = b"\x80\x26"
_ED25519_KEY_LENGTH: Final = 32

_B58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX: Final = {ch: i for i, ch in enumerate(_B58_ALPHABET)}
_MAX_MULTIBASE_LENGTH: Final = 4096


def generate_rsa_key(bits: int = MIN_RSA_BITS) -> rsa.RSAPrivateKey:
    """A fresh RSA key for HTTP signatures; sizes outside 2048..4096 would be refused by peers."""
    if not MIN_RSA_BITS <= bits <= MAX_RSA_BITS:
        raise ValueError(f"RSA key size must be {MIN_RSA_BITS}..{MAX_RSA_BITS} bits")
    return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=bits)


def generate_ed25519_key() -> ed25519.Ed25519PrivateKey:
    """A fresh Ed25519 key for object integrity proofs."""
    return ed25519.Ed25519PrivateKey.generate()


def _check_rsa_size(bits: int, min_rsa_bits: int, max_rsa_bits: int) -> None:
    if not min_rsa_bits <= bits <= max_rsa_bits:
        raise MalformedDocument(
            f"RSA key of {bits} bits is outside the accepted {min_rsa_bits}..{max_rsa_bits}"
        )


def _as_bytes(pem: str | bytes) -> bytes:
    if isinstance(pem, str):
        try:
            return pem.strip().encode("ascii")
        except UnicodeEncodeError as exc:
            raise MalformedDocument("PEM must be ASCII") from exc
    return pem.strip()


def private_key_to_pem(key: PrivateKey) -> str:
    """PKCS#8, unencrypted: encryption at rest is the storage layer's job, not the format's."""
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")


def private_key_from_pem(
    pem: str | bytes, *, min_rsa_bits: int = MIN_RSA_BITS, max_rsa_bits: int = MAX_RSA_BITS
) -> PrivateKey:
    """Load an unencrypted PKCS#8 or PKCS#1 private key; only RSA (sized) and Ed25519 pass."""
    try:
        key = serialization.load_pem_private_key(_as_bytes(pem), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise MalformedDocument("not a readable unencrypted PEM private key") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        _check_rsa_size(key.key_size, min_rsa_bits, max_rsa_bits)
        return key
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    raise MalformedDocument(f"unsupported private key type {type(key).__name__}")


def public_key_to_pem(key: PublicKey) -> str:
    """SubjectPublicKeyInfo PEM, the form ActivityPub ``publicKeyPem`` carries."""
    return key.public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    ).decode("ascii")


def public_key_from_pem(
    pem: str | bytes, *, min_rsa_bits: int = MIN_RSA_BITS, max_rsa_bits: int = MAX_RSA_BITS
) -> PublicKey:
    """Load a remote actor's public key (SPKI or PKCS#1 PEM); refuse weak or unsupported keys.

    ``min_rsa_bits`` exists so tests can load old 1024-bit spec keys; production keeps 2048.
    """
    try:
        key = serialization.load_pem_public_key(_as_bytes(pem))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise MalformedDocument("not a readable PEM public key") from exc
    if isinstance(key, rsa.RSAPublicKey):
        _check_rsa_size(key.key_size, min_rsa_bits, max_rsa_bits)
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise MalformedDocument(f"unsupported public key type {type(key).__name__}")


def _b58encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\x00"))
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, rem = divmod(number, 58)
        digits.append(_B58_ALPHABET[rem])
    return "1" * zeros + "".join(reversed(digits))


def _b58decode(text: str) -> bytes:
    number = 0
    for ch in text:
        digit = _B58_INDEX.get(ch)
        if digit is None:
            raise MalformedDocument(f"invalid base58btc character {ch!r}")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * zeros + body


def bytes_to_multibase(data: bytes) -> str:
    """Multibase base58btc (``z`` prefix), the encoding of Multikey values and proofValue."""
    return "z" + _b58encode(data)


def multibase_to_bytes(value: str) -> bytes:
    """Decode a base58btc multibase string; other multibase encodings are not used here."""
    if len(value) > _MAX_MULTIBASE_LENGTH:
        raise MalformedDocument("multibase value is too long")
    if not value.startswith("z"):
        raise MalformedDocument("multibase value must be base58btc ('z' prefix)")
    return _b58decode(value[1:])


def _decode_multikey(value: str, codec: bytes, what: str) -> bytes:
    raw = multibase_to_bytes(value)
    if not raw.startswith(codec):
        raise MalformedDocument(f"multibase value is not an {what} multikey")
    key = raw[len(codec) :]
    if len(key) != _ED25519_KEY_LENGTH:
        raise MalformedDocument(f"{what} multikey must hold {_ED25519_KEY_LENGTH} bytes")
    return key


def ed25519_public_to_multibase(key: ed25519.Ed25519PublicKey) -> str:
    """``publicKeyMultibase`` of a Multikey: base58btc(0xed01 ‖ raw key), i.e. ``z6Mk…``."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return bytes_to_multibase(_ED25519_PUB_CODEC + raw)


def ed25519_public_from_multibase(value: str) -> ed25519.Ed25519PublicKey:
    """Parse ``publicKeyMultibase``; prefix, codec and length are all checked."""
    raw = _decode_multikey(value, _ED25519_PUB_CODEC, "ed25519-pub")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


def ed25519_private_to_multibase(key: ed25519.Ed25519PrivateKey) -> str:
    """``secretKeyMultibase``: base58btc(0x8026 ‖ 32-byte seed), as the test suites publish it."""
    raw = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return bytes_to_multibase(_ED25519_PRIV_CODEC + raw)


def ed25519_private_from_multibase(value: str) -> ed25519.Ed25519PrivateKey:
    """Parse ``secretKeyMultibase`` (ed25519-priv multicodec) into a private key."""
    raw = _decode_multikey(value, _ED25519_PRIV_CODEC, "ed25519-priv")
    return ed25519.Ed25519PrivateKey.from_private_bytes(raw)
