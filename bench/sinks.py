"""Bare receiving servers for benchmarks: N ports in one process, each answering 202.

Run as ``python -m bench.sinks COUNT``; prints "ready PORT..." once all are listening. Runs in its own
process so the node being measured does not share a CPU core's event loop with its peers.
"""

from __future__ import annotations

import asyncio
import socket
import sys

from aiohttp import web


async def _accept(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=202)


async def main(count: int) -> None:
    app = web.Application()
    app.router.add_post("/{path:.*}", _accept)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    ports = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        ports.append(sock.getsockname()[1])
        await web.SockSite(runner, sock, backlog=1024).start()
    print("ready", *ports, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
