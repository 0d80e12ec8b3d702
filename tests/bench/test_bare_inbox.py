"""The inbox ceiling (bench/bare_inbox.py) runs with the node's runtime tuning.

``chapterhouse serve`` settles its heap once listening (``node.runtime.app.settle_heap``: the
start-up garbage collected, the heap frozen, the youngest generation's threshold raised); a
ceiling left on the default garbage-collector settings would flatter the node's ratio. This
starts the ceiling in this process and checks it did the same, and that it still answers as a
ceiling: 202 to a validly signed request, 401 to an unsigned one.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import orjson
import pytest

from bench.bare_inbox import start
from node.ops.cluster import free_port
from node.runtime.app import GC_YOUNG_THRESHOLD
from protocol.keys import generate_rsa_key
from tests.rig.signing import post, signed_post_headers

KEY_ID = "https://peer.example/users/alice#main-key"


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """Leave the test process's garbage collector as it was."""
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    yield
    if not frozen:
        gc.unfreeze()
    gc.set_threshold(*threshold)


async def test_the_ceiling_settles_its_heap_as_serve_does(restored_gc: None) -> None:
    gc.set_threshold(700, 10, 10)  # the interpreter's defaults, whatever ran before
    gc.unfreeze()
    key = generate_rsa_key()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    runner = await start(port, base_url, {KEY_ID: key.public_key()})
    try:
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
        url = f"{base_url}/actors/greenpark/inbox"
        body = orjson.dumps({"type": "Create", "id": "https://peer.example/a/1"})
        headers = signed_post_headers(url, body, key_id=KEY_ID, key=key)
        assert (await post(url, body, headers))[0] == 202
        assert (await post(url, body, {"Content-Type": "application/activity+json"}))[0] == 401
    finally:
        await runner.cleanup()
