"""HTTP/1.1 over a bare socket, for bodies a normal client would not send: a declared length
that never arrives, or a chunked body that never ends.

``post_unfinished`` writes the head and part of the body, never the rest, and waits for the
answer. An answer arriving at all proves the server decided without reading the whole body.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson


@dataclass(frozen=True)
class RawReply:
    status: int
    headers: dict[str, str]
    body: bytes
    sent_body_bytes: int  # body bytes written before the answer came

    @property
    def detail(self) -> str:
        try:
            return str(orjson.loads(self.body).get("detail", ""))
        except (orjson.JSONDecodeError, AttributeError):
            return self.body.decode("utf-8", "replace")


async def post_unfinished(
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    chunked: bool,
    declared_length: int | None = None,
    piece: int = 16 * 1024,
    timeout: float = 10.0,
) -> RawReply:
    """POST ``body`` (in ``piece``-sized writes), then stop without finishing the request.

    ``chunked``: ``Transfer-Encoding: chunked`` with no terminating zero chunk. Otherwise
    ``Content-Length: declared_length`` (which must exceed ``len(body)``) is announced.
    Raises ``TimeoutError`` when no answer comes within ``timeout`` (the server was waiting
    for the rest of the body).
    """
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}"]
    skip = {"content-length", "transfer-encoding", "host"}
    head += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in skip]
    if "host" in {k.lower() for k in headers}:
        head[1] = f"Host: {next(v for k, v in headers.items() if k.lower() == 'host')}"
    if chunked:
        head.append("Transfer-Encoding: chunked")
    else:
        assert declared_length is not None and declared_length > len(body)
        head.append(f"Content-Length: {declared_length}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    sent = 0

    async def write_body() -> None:
        nonlocal sent
        for start in range(0, len(body), piece):
            data = body[start : start + piece]
            framed = f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data
            writer.write(framed)
            await writer.drain()
            sent += len(data)
        # ...and never the terminating chunk / the rest of the declared length.

    async def read_answer() -> RawReply:
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection without answering")
        status = int(status_line.split()[1])
        answer_headers: dict[str, str] = {}
        while True:
            line = (await reader.readline()).decode("latin-1").strip()
            if not line:
                break
            name, _, value = line.partition(":")
            answer_headers[name.strip().lower()] = value.strip()
        length = int(answer_headers.get("content-length", "0"))
        answer_body = await reader.readexactly(length) if length else b""
        return RawReply(status, answer_headers, answer_body, sent)

    body_task = asyncio.create_task(write_body())
    try:
        return await asyncio.wait_for(read_answer(), timeout)
    finally:
        body_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await body_task
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
