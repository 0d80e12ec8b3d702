"""Actor documents: chapters and campaigns (``Group``), members (``Person``), the node itself.

``build_actor`` writes what we publish; ``parse_actor`` is the only way a fetched actor
document becomes trusted data, so every structural and origin rule lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from protocol.errors import MalformedDocument, UnsupportedType
from protocol.ids import parse_id, same_origin
from protocol.jsonld import CONTEXT, as_list
from protocol.vocabulary import has_type, primary_type

ACTOR_TYPES: Final = frozenset({"Person", "Group", "Organization", "Service", "Application"})
KIND_TERM: Final = "chapterhouse:kind"
#: FEP-844e capability: this actor's server verifies RFC 9421 signatures.
RFC9421_HREF: Final = "https://datatracker.ietf.org/doc/html/rfc9421"
IMPLEMENTS: Final = ({"name": "RFC-9421: HTTP Message Signatures", "href": RFC9421_HREF},)
MAX_TEXT: Final = 64 * 1024
MAX_PEM: Final = 16 * 1024


@dataclass(frozen=True, slots=True)
class Multikey:
    """An Ed25519 verification method published in ``assertionMethod``."""

    id: str
    controller: str
    public_key_multibase: str


@dataclass(frozen=True, slots=True)
class ActorSpec:
    """Everything needed to publish a local actor document."""

    id: str
    type: str
    preferred_username: str
    name: str | None
    summary: str | None
    url: str
    inbox: str
    outbox: str
    followers: str
    following: str
    shared_inbox: str
    public_key_id: str
    public_key_pem: str
    assertion_method: Multikey | None = None
    manually_approves_followers: bool = False
    kind: str | None = None
    published: str | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    """A validated actor document (local or remote)."""

    id: str
    type: str
    inbox: str
    preferred_username: str | None = None
    name: str | None = None
    summary: str | None = None
    url: str | None = None
    outbox: str | None = None
    followers: str | None = None
    following: str | None = None
    shared_inbox: str | None = None
    public_key_id: str | None = None
    public_key_pem: str | None = None
    assertion_methods: tuple[Multikey, ...] = ()
    manually_approves_followers: bool = False
    kind: str | None = None
    implements: tuple[str, ...] = ()

    @property
    def delivery_inbox(self) -> str:
        """Where to deliver: the shared inbox when the actor offers one."""
        return self.shared_inbox or self.inbox


def build_actor(spec: ActorSpec) -> dict[str, object]:
    """The JSON-LD document of a local actor, publishing both RSA and Ed25519 keys."""
    doc: dict[str, object] = {
        "@context": CONTEXT,
        "id": spec.id,
        "type": spec.type,
        "preferredUsername": spec.preferred_username,
        "url": spec.url,
        "inbox": spec.inbox,
        "outbox": spec.outbox,
        "followers": spec.followers,
        "following": spec.following,
        "endpoints": {"sharedInbox": spec.shared_inbox},
        "manuallyApprovesFollowers": spec.manually_approves_followers,
        "discoverable": True,
        "publicKey": {
            "id": spec.public_key_id,
            "owner": spec.id,
            "publicKeyPem": spec.public_key_pem,
        },
    }
    if spec.name is not None:
        doc["name"] = spec.name
    if spec.summary is not None:
        doc["summary"] = spec.summary
    if spec.published is not None:
        doc["published"] = spec.published
    if spec.kind is not None:
        doc[KIND_TERM] = spec.kind
    doc["generator"] = {
        "type": "Application",
        "name": "Chapterhouse",
        "implements": list(IMPLEMENTS),
    }
    if spec.assertion_method is not None:
        doc["assertionMethod"] = [
            {
                "id": spec.assertion_method.id,
                "type": "Multikey",
                "controller": spec.assertion_method.controller,
                "publicKeyMultibase": spec.assertion_method.public_key_multibase,
            }
        ]
    return doc


def _opt_text(doc: Mapping[str, object], key: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedDocument(f"actor {key} must be a string")
    if len(value) > MAX_TEXT:
        raise MalformedDocument(f"actor {key} is longer than {MAX_TEXT} characters")
    return value


def _opt_same_origin_id(
    doc: Mapping[str, object], key: str, actor_id: str, allow_http: bool
) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = value.get("id")
    ident = parse_id(value, allow_http=allow_http)
    if not same_origin(ident, actor_id):
        raise MalformedDocument(f"actor {key} {ident} is not on the actor's origin")
    return ident


def _public_key(
    doc: Mapping[str, object], actor_id: str, allow_http: bool
) -> tuple[str | None, str | None]:
    for candidate in as_list(doc.get("publicKey")):
        if not isinstance(candidate, Mapping):
            continue
        owner = candidate.get("owner", candidate.get("controller"))
        if owner != actor_id:
            continue
        key_id = parse_id(candidate.get("id"), allow_http=allow_http)
        if not same_origin(key_id, actor_id):
            raise MalformedDocument("actor publicKey id is not on the actor's origin")
        pem = candidate.get("publicKeyPem")
        if not isinstance(pem, str) or not pem.strip() or len(pem) > MAX_PEM:
            raise MalformedDocument("actor publicKey has no usable publicKeyPem")
        return key_id, pem
    return None, None


def _assertion_methods(
    doc: Mapping[str, object], actor_id: str, allow_http: bool
) -> tuple[Multikey, ...]:
    found: list[Multikey] = []
    for candidate in as_list(doc.get("assertionMethod"))[:8]:
        if not isinstance(candidate, Mapping) or not has_type(candidate, "Multikey"):
            continue
        if candidate.get("controller") != actor_id:
            continue
        multibase = candidate.get("publicKeyMultibase")
        if not isinstance(multibase, str) or len(multibase) > 256:
            continue
        key_id = parse_id(candidate.get("id"), allow_http=allow_http)
        if not same_origin(key_id, actor_id):
            continue
        found.append(Multikey(key_id, actor_id, multibase))
    return tuple(found)


def parse_actor(doc: object, *, allow_http: bool = False) -> Actor:
    """Validate an actor document: type, id, inbox, and keys that belong to this actor."""
    if not isinstance(doc, Mapping):
        raise MalformedDocument("actor document must be a JSON object")
    actor_type = primary_type(doc, ACTOR_TYPES)  # the first actor type it declares
    if actor_type is None:
        raise UnsupportedType(f"document of type {doc.get('type')!r:.200} is not an actor")
    actor_id = parse_id(doc.get("id"), allow_http=allow_http)
    if doc.get("inbox") is None:
        raise MalformedDocument("actor has no inbox")
    inbox = _opt_same_origin_id(doc, "inbox", actor_id, allow_http)
    assert inbox is not None
    endpoints = doc.get("endpoints")
    shared_inbox = None
    if isinstance(endpoints, Mapping):
        shared_inbox = _opt_same_origin_id(endpoints, "sharedInbox", actor_id, allow_http)
    key_id, pem = _public_key(doc, actor_id, allow_http)
    approves = doc.get("manuallyApprovesFollowers", False)
    kind_value = doc.get(KIND_TERM)
    return Actor(
        id=actor_id,
        type=actor_type,
        inbox=inbox,
        preferred_username=_opt_text(doc, "preferredUsername"),
        name=_opt_text(doc, "name"),
        summary=_opt_text(doc, "summary"),
        url=_opt_text(doc, "url") if isinstance(doc.get("url"), str) else None,
        outbox=_opt_same_origin_id(doc, "outbox", actor_id, allow_http),
        followers=_opt_same_origin_id(doc, "followers", actor_id, allow_http),
        following=_opt_same_origin_id(doc, "following", actor_id, allow_http),
        shared_inbox=shared_inbox,
        public_key_id=key_id,
        public_key_pem=pem,
        assertion_methods=_assertion_methods(doc, actor_id, allow_http),
        manually_approves_followers=approves is True,
        kind=kind_value if isinstance(kind_value, str) else None,
        implements=_implements(doc),
    )


def _implements(doc: Mapping[str, object]) -> tuple[str, ...]:
    """FEP-844e: the specifications the actor's software says it implements."""
    generator = doc.get("generator")
    if not isinstance(generator, Mapping):
        return ()
    hrefs = [
        i.get("href") for i in as_list(generator.get("implements"))[:32] if isinstance(i, Mapping)
    ]
    return tuple(h for h in hrefs if isinstance(h, str))
