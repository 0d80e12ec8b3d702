"""``chapterhouse serve`` listens where ``base_url`` says: without ``--port`` (or a ``port``
setting in the file or the environment) a node made for ``http://127.0.0.1:8100`` serves on 8100,
not on 8080 (where its links would lead nowhere). A base_url without a port (a node behind a
proxy) keeps 8080; an explicit port always wins."""

from __future__ import annotations

import os
import time
import urllib.request
from pathlib import Path

import pytest

from node.ops.cluster import free_port, listening, spawn, stop_processes
from node.runtime.config import load_settings, write_config
from tests.rig.nodes import cli

LOCAL = {"allow_private_network": True}


@pytest.mark.parametrize(
    ("base_url", "file", "env", "port"),
    [
        ("http://127.0.0.1:8100", {}, {}, 8100),  # the port base_url names
        ("https://chapter.example", {}, {}, 8080),  # behind a proxy: the default
        ("https://chapter.example:8443", {}, {}, 8443),
        ("http://127.0.0.1:8100", {"port": 9001}, {}, 9001),  # the file wins
        ("http://127.0.0.1:8100", {"port": 9001}, {"CHAPTERHOUSE_PORT": "9002"}, 9002),  # env
    ],
)
def test_the_port_defaults_to_base_urls(tmp_path: Path, base_url, file, env, port):
    write_config(tmp_path, {"base_url": base_url, **LOCAL, **file})
    assert load_settings(tmp_path, env=env).port == port
    assert load_settings(tmp_path, env=env, port=9003).port == 9003  # --port wins over all


def test_serve_without_port_listens_on_base_urls_port(tmp_path: Path):
    port = free_port()
    data = tmp_path / "node"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAPTERHOUSE_")}
    env.pop("DATABASE_URL", None)
    cli("init", "--data", str(data), "--base-url", f"http://127.0.0.1:{port}",
        "--allow-private-network", env=env)  # fmt: skip
    log = tmp_path / "serve.log"
    process = spawn(["serve", "--data", str(data)], env=env, log=log)  # no --port
    try:
        deadline = time.monotonic() + 90  # generous: the machine may be loaded
        while not listening(port):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"nothing listens on {port}:\n{log.read_text()}"
            time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as resp:
            assert resp.status == 200
        # the line follows the listening socket (after a database read): wait for it too
        while f"on http://127.0.0.1:{port}" not in log.read_text():
            assert time.monotonic() < deadline, f"no serving line:\n{log.read_text()}"
            time.sleep(0.1)
    finally:
        stop_processes([process])
