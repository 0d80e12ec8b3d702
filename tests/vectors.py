"""Where the shared test vectors live, plus readers for the ``.http`` message files.

The vectors are copied into the repository (``tests/fixtures/vectors``) so a clean clone tests
itself; ``$CHAPTERHOUSE_VECTORS`` points elsewhere (e.g. at a newer shared copy).
"""

from __future__ import annotations

import os
from pathlib import Path

from protocol.httpsig import HttpRequest, HttpResponse


def _locate() -> Path:
    override = os.environ.get("CHAPTERHOUSE_VECTORS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent / "fixtures" / "vectors"


VECTORS = _locate()


def _split_message(path: Path) -> tuple[str, list[tuple[str, str]], bytes | None]:
    text = path.read_bytes().decode("utf-8")
    head, sep, body = text.partition("\n\n")
    start, *lines = head.split("\n")
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return start, headers, (body.encode("utf-8") if sep else None)


def load_http_request(path: Path, scheme: str = "https") -> HttpRequest:
    """Read an RFC 9421-style example request; the URL is rebuilt from ``Host`` and the target."""
    start, headers, body = _split_message(path)
    method, target, _version = start.split(" ")
    host = next(value for name, value in headers if name.lower() == "host")
    return HttpRequest.from_mapping(method, f"{scheme}://{host}{target}", headers, body)


def load_http_response(path: Path) -> HttpResponse:
    """Read an example response (status line, fields, body)."""
    start, headers, body = _split_message(path)
    return HttpResponse.from_mapping(int(start.split(" ")[1]), headers, body)
