"""A stand-in for another fediverse server (Mastodon, Mobilizon) on loopback.

It serves *real captured* actor documents from the fixtures, with their URLs moved to this
server and a fresh key, records what it receives, and sends captured activity shapes
(rewritten the same way) signed with draft-cavage, as those servers do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from protocol.keys import generate_rsa_key, public_key_to_pem
from tests.rig.nodes import free_socket
from tests.rig.signing import post, signed_post_headers
from tests.vectors import VECTORS

FIXTURES = VECTORS / "payloads" / "mobilizon-fixtures"


def rewrite(value: Any, old: str, new: str) -> Any:
    """Replace an origin everywhere in a JSON document."""
    return json.loads(json.dumps(value).replace(old, new))


@dataclass
class ForeignServer:
    origins: tuple[str, ...]  # e.g. ("https://framapiaf.org",): origins found in the fixtures
    runner: web.AppRunner | None = None
    base_url: str = ""
    actors: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    key: Any = field(default_factory=lambda: generate_rsa_key(2048))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._get)
        app.router.add_post("/{path:.*}", self._post)
        sock = free_socket()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.SockSite(self.runner, sock).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def load(self, name: str) -> Any:
        """A fixture with its origin moved to this server."""
        doc = json.loads((FIXTURES / name).read_text())
        for origin in self.origins:
            doc = rewrite(doc, origin, self.base_url)
        return doc

    def add_actor(self, fixture: str) -> dict[str, Any]:
        doc = self.load(fixture)
        doc["publicKey"] = {
            "id": f"{doc['id']}#main-key",
            "owner": doc["id"],
            "publicKeyPem": public_key_to_pem(self.key.public_key()),
        }
        self.actors[doc["id"].removeprefix(self.base_url)] = doc
        return doc

    async def _get(self, request: web.Request) -> web.Response:
        doc = self.actors.get(request.path)
        if doc is None:
            return web.Response(status=404)
        return web.Response(body=orjson.dumps(doc), content_type="application/activity+json")

    async def _post(self, request: web.Request) -> web.Response:
        self.received.append(
            {
                "path": request.path,
                "body": orjson.loads(await request.read()),
                "signature": request.headers.get("Signature", ""),
            }
        )
        return web.Response(status=202)

    async def send(
        self, actor: dict[str, Any], inbox: str, activity: dict[str, Any]
    ) -> tuple[int, dict]:
        body = orjson.dumps(activity)
        return await post(
            inbox,
            body,
            signed_post_headers(inbox, body, key_id=actor["publicKey"]["id"], key=self.key),
        )

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [r["body"] for r in self.received if r["body"].get("type") == kind]


def fixture_path(name: str) -> Path:
    return FIXTURES / name
