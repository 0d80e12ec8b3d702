"""``make run`` shows each secret once: the first run prints the admin token as ``init`` makes
it (and nothing prints it again); a later run, on the existing node, prints it once from the
data directory. Then it serves the node on the port it was made for.

The real Makefile runs, with the virtualenv taken as installed (``-o``: no pip install here).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from pathlib import Path

from node.ops.cluster import free_port
from tests.rig.nodes import REPO

SERVING = re.compile(r"^serving http://127\.0\.0\.1:(\d+) on ")
TOKEN = re.compile(r"\bchp_[A-Za-z0-9_-]{20,}")


def make_run(data: Path, port: int) -> str:
    """Run ``make run`` until the node serves; its output up to then (then stop it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAPTERHOUSE_")}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "run",
         f"DATA={data}", f"PORT={port}", "VENV=.venv"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # make and the node it starts: one group to stop
    )  # fmt: skip
    lines: list[str] = []
    serving = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if SERVING.match(line):
                serving.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert serving.wait(120), "make run never served:\n" + "".join(lines)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        reader.join(timeout=10)
    return "".join(lines)


def test_make_run_prints_the_admin_token_once_each_run(tmp_path: Path):
    data, port = tmp_path / "var", free_port()
    first = make_run(data, port)
    token = (data / "admin-token").read_text().strip()
    assert TOKEN.fullmatch(token)
    assert first.count(token) == 1, first
    assert len(re.findall(r"admin token:", first)) == 1, first
    assert f"serving http://127.0.0.1:{port} on http://127.0.0.1:{port}" in first

    again = make_run(data, port)  # the node exists: its token, read back, once
    assert again.count(token) == 1, again
    assert TOKEN.findall(again) == [token], again
