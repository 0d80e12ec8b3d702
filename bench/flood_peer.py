"""The flood benchmark's honest peer and process helpers (``bench.flood``).

The honest peer is an actor whose key the node fetches from a small key server in the
benchmark's process; it sends signed, unique ``Create{Note}`` deliveries. These lived in
``bench/inbox.py`` until its end-to-end rewrite (issue 17) replaced them with mixed traffic;
the flood benchmark keeps its simple peer here, independent of the inbox benchmark's internals.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiohttp import web

from protocol.keys import generate_rsa_key, private_key_to_pem, public_key_to_pem

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sender:
    actor_id: str
    key_id: str
    private_pem: str
    public_pem: str


def make_senders(key_origin: str, count: int) -> list[Sender]:
    senders = []
    for i in range(count):
        key = generate_rsa_key()
        actor_id = f"{key_origin}/users/sender{i}"
        senders.append(
            Sender(
                actor_id,
                f"{actor_id}#main-key",
                private_key_to_pem(key),
                public_key_to_pem(key.public_key()),
            )
        )
    return senders


def actor_document(sender: Sender, key_origin: str) -> dict[str, object]:
    name = sender.actor_id.rsplit("/", 1)[1]
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": sender.actor_id,
        "type": "Person",
        "preferredUsername": name,
        "inbox": f"{sender.actor_id}/inbox",
        "outbox": f"{sender.actor_id}/outbox",
        "endpoints": {"sharedInbox": f"{key_origin}/inbox"},
        "publicKey": {
            "id": sender.key_id,
            "owner": sender.actor_id,
            "publicKeyPem": sender.public_pem,
        },
    }


async def start_key_server(senders: list[Sender], port: int) -> web.AppRunner:
    """Serve the senders' actor documents (with their keys) on 127.0.0.1:``port``."""
    origin = f"http://127.0.0.1:{port}"
    documents = {s.actor_id.removeprefix(origin): actor_document(s, origin) for s in senders}

    async def actor(request: web.Request) -> web.Response:
        doc = documents.get(request.path)
        if doc is None:
            raise web.HTTPNotFound()
        return web.Response(body=orjson.dumps(doc), content_type="application/activity+json")

    app = web.Application()
    app.router.add_get("/users/{name}", actor)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def create_activity(sender: Sender, chapter_id: str, run: str, n: int) -> bytes:
    """A unique ``Create{Note}`` addressed to the chapter (``run`` and ``n`` make it so)."""
    return orjson.dumps(
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{sender.actor_id}/activities/{run}-{n}",
            "type": "Create",
            "actor": sender.actor_id,
            "published": "2027-04-12T10:00:00Z",
            "to": [chapter_id],
            "object": {
                "id": f"{sender.actor_id}/notes/{run}-{n}",
                "type": "Note",
                "attributedTo": sender.actor_id,
                "to": [chapter_id],
                "published": "2027-04-12T10:00:00Z",
                "content": f"<p>Count me in for the clean-up, crew! (message {n})</p>",
            },
        }
    )


def run_cli(args: Sequence[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(BIN / "chapterhouse"), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"chapterhouse {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


async def stop(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL after 30 s."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
