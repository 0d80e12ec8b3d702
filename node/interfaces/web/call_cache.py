"""Parsed action calls for the chapter pages, reused while their stored document is unchanged.

A chapter page lists up to a hundred calls; decoding and validating each document
(``parse_event``) and building its summary line cost more than the rest of the page on a chapter
with many calls. The cache is keyed by call id and checked against the stored JSON text, so an
edit, a cancellation or a new participant count (each rewrites the document) is seen at once.
It is bounded, and lives with the app (no module-level state).
"""

from __future__ import annotations

from collections import OrderedDict

import orjson

from protocol.events import ActionCall, parse_event, summary_line

DEFAULT_SIZE = 512


class ParsedCalls:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[str, ActionCall, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, ap_id: str, stored: str, *, allow_http: bool) -> tuple[ActionCall, str]:
        """The call parsed from ``stored`` (its document's JSON text) and its summary line."""
        hit = self._items.get(ap_id)
        if hit is not None and hit[0] == stored:
            self._items.move_to_end(ap_id)
            return hit[1], hit[2]
        call = parse_event(orjson.loads(stored), allow_http=allow_http)
        line = summary_line(call)
        self._items[ap_id] = (stored, call, line)
        self._items.move_to_end(ap_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return call, line
