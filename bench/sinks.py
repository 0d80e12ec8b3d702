"""Bare receiving servers for benchmarks: N ports in one process, each answering 202.

Run as ``python -m bench.sinks COUNT [--slow K] [--delay SECONDS]``; prints "ready PORT..." once
all are listening. The first K ports answer only after the delay: a receiver far away (or slow)
without costing this process any CPU. Runs in its own process so the node being measured does
not share a CPU core's event loop with its peers.
"""

from __future__ import annotations

import argparse
import asyncio
import socket

from aiohttp import web


def _app(delay: float) -> web.Application:
    async def accept(request: web.Request) -> web.Response:
        await request.read()
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/{path:.*}", accept)
    return app


async def main(count: int, slow: int, delay: float) -> None:
    runners = {}
    for d in {0.0, delay if slow else 0.0}:
        runner = web.AppRunner(_app(d), access_log=None)
        await runner.setup()
        runners[d] = runner
    ports = []
    for i in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        ports.append(sock.getsockname()[1])
        runner = runners[delay if i < slow else 0.0]
        await web.SockSite(runner, sock, backlog=1024).start()
    print("ready", *ports, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int)
    parser.add_argument("--slow", type=int, default=0, help="ports answering late")
    parser.add_argument("--delay", type=float, default=0.2, help="their delay in seconds")
    args = parser.parse_args()
    asyncio.run(main(args.count, args.slow, args.delay))
