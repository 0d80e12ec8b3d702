"""RFC 9421 covered components and the signature base built from them (§2, §2.5).

Supported: the request-derived components, ``@query-param`` and ``@status`` (for building
response bases only). Field parameters (``;sf``, ``;key``, ``;bs``, ``;req``) are refused rather
than ignored, since ignoring one would sign a different value than the peer meant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final
from urllib.parse import parse_qsl, quote, unquote_plus

from protocol.httpsig.failures import malformed
from protocol.httpsig.fields import Item, parse_item, serialize_item, serialize_params
from protocol.httpsig.message import (
    HttpRequest,
    HttpResponse,
    Target,
    field_value,
    request_target,
    single_line,
)

_BARE_NAME: Final = re.compile(r"@?[a-z0-9!#$%&'*+.^_`|~-]+")


def parse_component(spec: str) -> Item:
    """A component identifier from the caller's shorthand: ``@method`` or ``'"@method"'``.

    The unquoted form is a convenience for callers; it is quoted here and then parsed as the
    structured-field item the spec defines.
    """
    text = spec.strip()
    if not text.startswith('"'):
        name, sep, rest = text.partition(";")
        name = name.strip().lower()
        if not _BARE_NAME.fullmatch(name):
            raise malformed(f"bad component name {spec!r}")
        text = f'"{name}"' + (f";{rest}" if sep else "")
    item = parse_item(text, f"component identifier {spec!r}")
    if not isinstance(item.value, str) or not item.value:
        raise malformed(f"component identifier {spec!r} must be a string")
    return item


def covered_name(item: Item) -> str:
    """The identifier as ``VerifiedSignature.covered`` reports it: unquoted, with parameters."""
    return str(item.value) + serialize_params(item.params)


def _query_param(target: Target, item: Item) -> str:
    names = [value for key, value in item.params if key == "name"]
    if len(item.params) != 1 or len(names) != 1 or not isinstance(names[0], str):
        raise malformed('@query-param needs exactly one "name" parameter')
    wanted = quote(unquote_plus(names[0]), safe="")
    values = [
        value
        for key, value in parse_qsl(target.query, keep_blank_values=True)
        if quote(key, safe="") == wanted
    ]
    if len(values) != 1:
        raise malformed(f"query parameter {names[0]!r} must occur exactly once")
    return quote(values[0], safe="")


def _derived_value(message: HttpRequest | HttpResponse, item: Item, name: str) -> str:
    if name == "@status":
        if not isinstance(message, HttpResponse) or item.params:
            raise malformed("@status applies only to responses")
        return str(message.status)
    if not isinstance(message, HttpRequest):
        raise malformed(f"{name} applies only to requests")
    target = request_target(message.url)
    if name == "@query-param":
        return _query_param(target, item)
    if item.params:
        raise malformed(f"parameters on {name} are not supported")
    values = {
        "@method": message.method,
        "@target-uri": target.uri,
        "@authority": target.authority,
        "@scheme": target.scheme,
        "@request-target": target.path_and_query,
        "@path": target.path,
        "@query": f"?{target.query}",
    }
    if name not in values:
        raise malformed(f"unsupported derived component {name}")
    return values[name]


def _component_value(message: HttpRequest | HttpResponse, item: Item) -> str:
    name = str(item.value).lower()
    if name.startswith("@"):
        return single_line(_derived_value(message, item, name), name)
    if item.params:
        raise malformed(f"component parameters on {name!r} are not supported")
    value = field_value(message.headers, name)
    if value is None:
        raise malformed(f"covered field {name!r} is absent from the message")
    return single_line(value, name)


def signature_base(
    message: HttpRequest | HttpResponse, components: Sequence[Item], params_text: str
) -> str:
    """The §2.5 base: one ``"identifier": value`` line per component, then the parameters.

    ``params_text`` goes on the ``@signature-params`` line as given: when verifying it is the
    Signature-Input member exactly as received (see ``rfc9421.parse_signature``).
    """
    lines: list[str] = []
    seen: set[str] = set()
    for item in components:
        identifier = serialize_item(item)
        if identifier in seen:
            raise malformed(f"component {identifier} is listed twice")
        if item.value == "@signature-params":
            raise malformed("@signature-params cannot be a covered component")
        seen.add(identifier)
        lines.append(f"{identifier}: {_component_value(message, item)}")
    lines.append(f'"@signature-params": {params_text}')
    return "\n".join(lines)


def rfc9421_signature_base(
    message: HttpRequest | HttpResponse, components: Sequence[str], params_serialized: str
) -> str:
    """The RFC 9421 §2.5 signature base.

    ``components`` are identifiers such as ``"@method"``, ``"content-digest"`` or
    ``'"@query-param";name="Pet"'``; ``params_serialized`` is the Signature-Input member value
    (inner list plus parameters), reproduced verbatim on the ``@signature-params`` line.
    """
    return signature_base(message, [parse_component(c) for c in components], params_serialized)
