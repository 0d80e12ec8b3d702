"""A bare receiving server for delivery tests: records each POST and answers as told."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from tests.rig.nodes import free_socket


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict


@dataclass
class Sink:
    """Answers ``respond(request_number, request) -> (status, headers)`` after ``delay`` s."""

    respond: Callable[[int, web.Request], tuple[int, dict[str, str]]] = lambda n, r: (202, {})
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    base_url: str = ""
    runner: web.AppRunner | None = None

    @property
    def inbox(self) -> str:
        return f"{self.base_url}/inbox"

    async def start(self) -> Sink:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._post)
        sock = free_socket()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self.runner.setup()
        await web.SockSite(self.runner, sock).start()
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _post(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        number = len(self.received)
        self.received.append(Received(request.path, dict(request.headers), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        status, headers = self.respond(number, request)
        return web.Response(status=status, headers=headers)
