"""The inbox ceiling: a bare aiohttp handler that only does what no inbox can skip.

It reads the body, checks the ``Digest`` and the draft-cavage RSA signature (with the same
``protocol.httpsig.verify_request`` the node uses, strict policy, keys known up front) and parses
the JSON with orjson, then answers ``202``. No database, no routing table beyond one catch-all
route, no middleware, no logging. ``bench.inbox`` measures the node against it.

It gets the node's runtime tuning: once listening it calls the very ``settle_heap`` that
``chapterhouse serve`` calls (start-up garbage collected, the heap frozen, the youngest
generation's threshold raised), so the margin between the two is the node's work, not a
garbage-collector setting only one of them has.

    python -m bench.bare_inbox --port PORT --base-url URL --keys KEYS.json [--uvloop]

``KEYS.json`` maps key ids to public-key PEMs. Prints ``ready`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from aiohttp import web

from node.runtime.app import settle_heap
from protocol.errors import SignatureError
from protocol.httpsig import HttpRequest, signature_key_id, verify_request
from protocol.keys import PublicKey, public_key_from_pem

WINDOW = timedelta(hours=1)


def make_app(base_url: str, keys: dict[str, PublicKey]) -> web.Application:
    async def inbox(request: web.Request) -> web.Response:
        body = await request.read()
        view = HttpRequest.from_mapping(
            request.method, f"{base_url}{request.raw_path}", list(request.headers.items()), body
        )
        try:
            key = keys[signature_key_id(view)]
            verify_request(view, key, now=datetime.now(UTC), window=WINDOW)
        except (KeyError, SignatureError) as exc:
            return web.Response(status=401, text=str(exc))
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            return web.Response(status=400)
        if not isinstance(doc, dict):
            return web.Response(status=400)
        return web.Response(status=202)

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/{tail:.*}", inbox)
    return app


async def start(port: int, base_url: str, keys: dict[str, PublicKey]) -> web.AppRunner:
    """Listen on ``port``, then settle the heap as ``serve`` does once it listens."""
    runner = web.AppRunner(make_app(base_url, keys), access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, reuse_address=True).start()
    # The driver starts on "ready", so no timed request runs before the heap is settled.
    settle_heap()
    return runner


async def serve(port: int, base_url: str, keys: dict[str, PublicKey]) -> None:
    runner = await start(port, base_url, keys)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--keys", type=Path, required=True, help="JSON: key id -> public PEM")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop (as the node does)")
    args = parser.parse_args()
    keys = {kid: public_key_from_pem(pem) for kid, pem in json.loads(args.keys.read_text()).items()}
    if args.uvloop:
        import uvloop

        uvloop.run(serve(args.port, args.base_url, keys))
    else:
        asyncio.run(serve(args.port, args.base_url, keys))


if __name__ == "__main__":
    main()
