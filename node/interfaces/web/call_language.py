"""Which version of a multilingual call a reader sees.

A call carries its own language and translations (``nameMap``/``contentMap``; protocol/events.py
``call_text``). The reader's preferences, most wanted first: an explicit ``?lang=`` on the
request, the ``lang`` cookie the language switcher sets, the ``Accept-Language`` header, then
the language the page itself was rendered in (when the page's language was already chosen).
Unlike the page's language, a call's may be any language, not just a shipped one, so the
header's own tags are kept as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from protocol.language_maps import best_language, language_tag, parse_accept_language

#: The request key node/interfaces/web/language.py keeps the page's language under.
_PAGE_LANGUAGE = "chapterhouse.page_language"


def reader_languages(request: web.Request) -> list[str]:
    """The reader's languages for a call's text, most wanted first, without repeats."""
    explicit = [language_tag(request.query.get("lang")), language_tag(request.cookies.get("lang"))]
    page = getattr(request.get(_PAGE_LANGUAGE), "code", None)
    found = [
        *(t for t in explicit if t),
        *parse_accept_language(request.headers.get("Accept-Language")),
        *([page] if isinstance(page, str) else []),
    ]
    return list(dict.fromkeys(found))


def localized_item(item: Mapping[str, Any], preferred: Sequence[str]) -> dict[str, Any]:
    """A call as the JSON views give it (``call_json``), with ``title`` and ``description`` in
    the reader's language when the call has it, and ``lang`` saying which language they are in."""
    own = item.get("language")
    titles = item.get("titleMap") or {}
    descriptions = item.get("descriptionMap") or {}
    available = dict.fromkeys([*([own] if isinstance(own, str) else []), *titles, *descriptions])
    chosen = best_language(available, preferred)
    out = dict(item)
    out["lang"] = own
    if chosen is not None and chosen != own:
        out["title"] = titles.get(chosen, item.get("title"))
        out["description"] = descriptions.get(chosen, item.get("description"))
        out["lang"] = chosen
    return out
