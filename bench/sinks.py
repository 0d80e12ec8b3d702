"""Bare receiving servers for benchmarks: N ports in one process, each answering 202.

Run as ``python -m bench.sinks PORT...``; prints "ready" when listening. Runs in its own
process so the node being measured does not share a CPU core's event loop with its peers.
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web


async def _accept(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=202)


async def main(ports: list[int]) -> None:
    app = web.Application()
    app.router.add_post("/{path:.*}", _accept)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    for port in ports:
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main([int(p) for p in sys.argv[1:]]))
