"""Loading an untrusted JSON body into the one object every later check reads.

A JSON text can mean different things to different readers, and each ambiguity is refused
here, before anything trusts a field:

* **Duplicate keys.** RFC 8259 leaves ``{"actor": A, "actor": B}`` to the parser: ours keeps the
  last, a signer's or a relay's may keep the first. A body with a duplicate key is refused.
* **JSON-LD keywords that change meaning under expansion.** We read the compacted form and
  never expand it, so ``@graph``, ``@included`` and ``@reverse`` (anywhere) and an ``@context``
  that defines terms below the top level would make a JSON-LD processor see other statements
  than we do. The top-level ``@context`` is allowed (it may not define a term as one of those
  keywords or as ``@context``, nor carry a scoped ``@context``). A nested ``@context`` is
  allowed only when it repeats what the top-level one applies (the same value, or entries each
  found in it; never ``null``, which resets): an embedded object signed with FEP-8b32 must keep
  its own ``@context`` for its proof to verify, and its proof repeats it, but neither may bring
  in a definition of its own.
* **Nesting** deeper than the caller's limit (a cheap guard for every recursive reader after us).

The inbox is hot, so the common case costs one parse (orjson) and one walk of the parsed value.
Duplicates are found without a second parse when possible: every key in the raw text ends with
``"`` + optional whitespace + ``:``. Anywhere else that sequence starts at a quote opening a
string or escaped inside one (``\\"``), its whitespace and colon being string content, so the
number of such matches is at least the number of keys written. When it equals the number of
keys the parsed document holds, no key was dropped and there is no duplicate; only when it is
larger (a duplicate, or ``":`` inside some string) is the body parsed again by :mod:`json` with a
hook that sees every key.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
from typing import Any, Final

import orjson

from protocol.errors import MalformedDocument

CONTEXT: Final = "@context"
#: Keywords that introduce other nodes or graphs, or invert a property, under expansion.
FORBIDDEN_KEYWORDS: Final = ("@graph", "@included", "@reverse")
#: How deep a document from a peer may nest (a real activity needs well under 10 levels).
MAX_JSON_DEPTH = 32
_GRAPH, _INCLUDED, _REVERSE = FORBIDDEN_KEYWORDS
#: Keywords a term of the top-level ``@context`` may not alias.
_ALIASED: Final = frozenset({*FORBIDDEN_KEYWORDS, CONTEXT})
#: JSON's whitespace (RFC 8259): never a byte of a multi-byte UTF-8 character.
_WHITESPACE: Final = b" \t\r\n"

#: A container met by the walk: (value, its depth, the entry of its parent, its key or index).
#: The parent chain gives the path for an error message; it costs nothing until one is needed.
_Entry = tuple[Any, int, Any, str | int]


def load_json_object(
    body: bytes, *, max_depth: int, nested_contexts: bool = False
) -> dict[str, Any]:
    """The JSON object in ``body``; ``MalformedDocument`` (with a precise message) if the body is
    not JSON, not an object, nested deeper than ``max_depth`` (the top-level object is depth 1,
    a value inside it depth 2), has a duplicate key, or uses a JSON-LD keyword we refuse.

    ``nested_contexts`` accepts embedded objects carrying a ``@context`` of their own: a fetched
    collection page holds other documents as they were published (each with its context),
    whereas an inbox body is one activity, whose embedded objects may only repeat its context."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedDocument(f"body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise MalformedDocument("body must be a JSON object")
    keys = _walk(doc, max_depth, nested_contexts)
    if key_ends(body) > keys:  # a duplicate, or '":' inside some string: check exactly
        _refuse_duplicates(body)
    return doc


def key_ends(body: bytes) -> int:
    """How many times ``"``, optional JSON whitespace and ``:`` occur in ``body``: at least the
    number of keys written in it (every key ends so; elsewhere it occurs only inside strings)."""
    # With the whitespace deleted, each such run is exactly a '":' (faster than a pattern).
    return body.translate(None, _WHITESPACE).count(b'":')


def _path(entry: _Entry | None) -> str:
    """Where an entry sits, as ``object.tag[2]`` (cut short: keys are the sender's text)."""
    parts: list[str] = []
    while entry is not None:
        step = entry[3]
        parts.append(f"[{step}]" if isinstance(step, int) else f".{step}")
        entry = entry[2]
    path = "".join(reversed(parts)).lstrip(".")
    return (path if len(path) <= 200 else f"{path[:200]}…") or "the top level"


def _keyword(node: dict[str, Any], entry: _Entry | None) -> MalformedDocument:
    found = next(k for k in FORBIDDEN_KEYWORDS if k in node)
    return MalformedDocument(f"the JSON-LD keyword {found} is not accepted (in {_path(entry)})")


def _too_deep(max_depth: int, entry: _Entry | None) -> MalformedDocument:
    return MalformedDocument(f"JSON nested deeper than {max_depth} levels (in {_path(entry)})")


def _walk(doc: dict[str, Any], max_depth: int, nested_contexts: bool = False) -> int:
    """Check depth and JSON-LD keywords in one pass; returns how many keys the document holds.

    The top-level ``@context`` is checked once; a nested copy of it is compared, not walked.
    (Written for speed: orjson gives exact ``dict`` and ``list``, so classes are compared.)
    """
    if _GRAPH in doc or _INCLUDED in doc or _REVERSE in doc:
        raise _keyword(doc, None)
    keys = len(doc)
    if keys and max_depth < 2:
        raise _too_deep(max_depth, None)
    has_context = CONTEXT in doc
    context = doc.get(CONTEXT)
    context_keys = context_height = 0
    if has_context and context and (context.__class__ is dict or context.__class__ is list):
        context_keys, context_height = _context_shape(context, max_depth)
        keys += context_keys
    stack: list[_Entry] = []
    push = stack.append
    for key, value in doc.items():
        if value and (value.__class__ is dict or value.__class__ is list) and key != CONTEXT:
            push((value, 2, None, key))
    pop = stack.pop
    while stack:
        entry = pop()
        node, depth = entry[0], entry[1]
        if depth >= max_depth:  # it is not empty, so it holds a value one level deeper
            raise _too_deep(max_depth, entry)
        below = depth + 1
        if node.__class__ is list:
            for index, value in enumerate(node):
                if value and (value.__class__ is dict or value.__class__ is list):
                    push((value, below, entry, index))
            continue
        keys += len(node)
        if _GRAPH in node or _INCLUDED in node or _REVERSE in node:
            raise _keyword(node, entry)
        if CONTEXT in node:
            nested = node[CONTEXT]
            if has_context and nested == context:  # the usual case: counted without a walk
                nested_keys, nested_height = context_keys, context_height
            elif has_context and _repeats(nested, context):
                nested_keys, nested_height = _shape(nested)
            elif nested_contexts:  # walked like any value: its keys count, keywords refused
                for key, value in node.items():
                    if value and (value.__class__ is dict or value.__class__ is list):
                        push((value, below, entry, key))
                continue
            else:
                raise MalformedDocument(
                    f"a nested @context is not accepted (in {_path(entry)}): it may only "
                    "repeat contexts the top-level @context applies"
                )
            if below + nested_height > max_depth:
                raise _too_deep(max_depth, entry)
            keys += nested_keys
            for key, value in node.items():
                if (
                    value
                    and (value.__class__ is dict or value.__class__ is list)
                    and key != CONTEXT
                ):
                    push((value, below, entry, key))
            continue
        for key, value in node.items():
            if value and (value.__class__ is dict or value.__class__ is list):
                push((value, below, entry, key))
    return keys


def _repeats(nested: object, context: object) -> bool:
    """Whether every entry of a nested ``@context`` is one the top-level ``@context`` applies
    too (so it brings in no definition of its own; ``null``, which resets, is never one)."""
    applied = context if isinstance(context, list) else [context]
    entries = nested if isinstance(nested, list) else [nested]
    return all(e is not None and e in applied for e in entries)


def _shape(value: object) -> tuple[int, int]:
    """(keys, height) of a value already checked elsewhere (a repeated context entry)."""
    if isinstance(value, dict) and value:
        shapes = [_shape(v) for v in value.values()]
        return len(value) + sum(k for k, _ in shapes), 1 + max(h for _, h in shapes)
    if isinstance(value, list) and value:
        shapes = [_shape(v) for v in value]
        return sum(k for k, _ in shapes), 1 + max(h for _, h in shapes)
    return 0, 0


def _context_shape(context: object, max_depth: int) -> tuple[int, int]:
    """(keys, height) of the top-level ``@context``: how many keys it holds, and how many levels
    it reaches below itself. It may not use a refused keyword, define a term as one (or as
    ``@context``), or carry a scoped ``@context``."""
    keys = height = 0
    stack: list[tuple[_Entry, int]] = [((context, 2, None, CONTEXT), 0)]
    while stack:
        entry, level = stack.pop()
        node = entry[0]
        if not isinstance(node, dict | list) or not node:
            continue
        height = max(height, level + 1)
        if 2 + height > max_depth:
            raise _too_deep(max_depth, entry)
        if isinstance(node, list):
            stack.extend(((value, 0, entry, i), level + 1) for i, value in enumerate(node))
            continue
        keys += len(node)
        if _GRAPH in node or _INCLUDED in node or _REVERSE in node:
            raise _keyword(node, entry)
        if CONTEXT in node:
            raise MalformedDocument(f"a scoped @context is not accepted (in {_path(entry)})")
        for key, value in node.items():
            if isinstance(value, str):
                if value in _ALIASED:
                    raise MalformedDocument(
                        f"@context may not define {key!r:.100} as the JSON-LD keyword {value}"
                    )
            else:
                stack.append(((value, 0, entry, key), level + 1))
    return keys, height


def _refuse_duplicates(body: bytes) -> None:
    """Parse again, seeing every key: ``MalformedDocument`` naming the first duplicate."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) != len(items):
            seen: set[str] = set()
            for key, _ in items:
                if key in seen:
                    raise MalformedDocument(f"duplicate key {key!r:.100} in a JSON object")
                seen.add(key)
        return obj

    try:
        json.loads(body, object_pairs_hook=pairs)
    except (ValueError, RecursionError) as exc:  # orjson took it, so this is not expected
        raise MalformedDocument(f"body is not valid JSON: {exc}") from exc
