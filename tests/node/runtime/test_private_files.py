"""The data directory is the node's user's alone: 0700, and its database (with SQLite's -wal,
-shm and -journal files), admin token, session key and settings 0600, whatever the umask.

Every command runs as a real subprocess under ``umask 022`` (the common default, under which
the first build left the database, with every private key, readable by all local users).
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from node.ops.backup.container import PASSPHRASE_ENV
from node.ops.cluster import listening, node_argv, stop_processes
from node.runtime.config import load_settings
from node.runtime.private_files import tighten_data_dir, write_private
from tests.rig.nodes import REPO, free_port

PASS_ENV = {PASSPHRASE_ENV: "correct horse battery staple"}
DB = "chapterhouse.db"
SECRETS = ("chapterhouse.toml", "admin-token", DB)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _umask_argv(umask: str, *args: str) -> list[str]:
    """``chapterhouse ARGS`` started by a shell that sets ``umask`` first."""
    return ["sh", "-c", f'umask {umask} && exec "$@"', "sh", *node_argv(*args)]


def cli_umask(*args: str, umask: str = "022", env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        _umask_argv(umask, *args),
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def init(data: Path, port: int, umask: str = "022") -> None:
    cli_umask(
        "init",
        "--data",
        str(data),
        "--base-url",
        f"http://127.0.0.1:{port}",
        "--allow-private-network",
        umask=umask,
    )


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    """Start ``chapterhouse serve`` under ``umask 022``; its log lives outside the data dir."""
    started: list[subprocess.Popen[bytes]] = []

    def start(data: Path, port: int) -> Path:
        log = tmp_path / f"serve-{port}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                _umask_argv("022", "serve", "--data", str(data), "--port", str(port)),
                cwd=REPO,
                env={**os.environ, "CHAPTERHOUSE_LOG_LEVEL": "INFO"},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        deadline = time.monotonic() + 30
        while not listening(port):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        return log

    yield start
    stop_processes(started)


async def test_init_and_serve_keep_every_secret_private_under_umask_022(tmp_path, serve):
    data = tmp_path / "node"
    port = free_port()
    init(data, port)
    assert mode(data) == 0o700
    for name in SECRETS:
        assert mode(data / name) == 0o600, name
    token = (data / "admin-token").read_text().strip()

    serve(data, port)
    # A first write through the running node (an abuse report), so SQLite has its WAL.
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{port}/api/v1/flags",
            json={"target": f"http://127.0.0.1:{port}/actors/relay"},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp,
    ):
        assert resp.status == 201, await resp.text()
    assert (data / f"{DB}-wal").exists() and (data / f"{DB}-shm").exists()
    for name in (*SECRETS, f"{DB}-wal", f"{DB}-shm", "session.key"):
        assert mode(data / name) == 0o600, name
    assert mode(data) == 0o700
    # Nothing in the directory is open to group or others.
    for path in data.iterdir():
        assert mode(path) & 0o077 == 0, path


def test_init_with_a_permissive_umask_and_an_existing_open_directory(tmp_path):
    data = tmp_path / "node"
    data.mkdir(mode=0o777)
    os.chmod(data, 0o777)
    init(data, free_port(), umask="000")
    assert mode(data) == 0o700
    for name in SECRETS:
        assert mode(data / name) == 0o600, name


async def test_serve_tightens_a_data_directory_an_older_version_left_open(tmp_path, serve):
    data = tmp_path / "node"
    port = free_port()
    init(data, port)
    # What the first build left behind: a 0755 directory with 0644 files.
    os.chmod(data, 0o755)
    for name in SECRETS:
        os.chmod(data / name, 0o644)
    (data / f"{DB}-journal").write_bytes(b"")
    os.chmod(data / f"{DB}-journal", 0o644)

    log = serve(data, port)
    assert mode(data) == 0o700
    for name in (*SECRETS, f"{DB}-journal"):
        assert mode(data / name) == 0o600, name
    lines = [line for line in log.read_text().splitlines() if "data_dir.tightened" in line]
    assert len(lines) == 1, log.read_text()
    assert "WARNING" in lines[0] and str(data / DB) in lines[0]


def test_tightening_an_already_private_directory_changes_and_says_nothing(tmp_path, caplog):
    data = tmp_path / "node"
    init(data, free_port())
    settings = load_settings(data)
    with caplog.at_level(logging.WARNING):
        assert tighten_data_dir(settings) == []
    assert "data_dir.tightened" not in caplog.text


def test_write_private_makes_an_existing_open_file_private(tmp_path):
    path = tmp_path / "secret"
    path.write_text("old")
    os.chmod(path, 0o666)
    write_private(path, "new secret\n")
    assert mode(path) == 0o600 and path.read_text() == "new secret\n"
    with pytest.raises(FileExistsError):
        write_private(path, "again", exclusive=True)


@pytest.mark.parametrize("existing", [False, True])
def test_a_restore_is_as_private_as_a_fresh_node(tmp_path, existing):
    source = tmp_path / "source"
    init(source, free_port())
    cli_umask("chapter", "create", "greenpark", "--data", str(source))
    backup = tmp_path / "node.chbackup"
    cli_umask("backup", "--data", str(source), str(backup), env=PASS_ENV)

    target = tmp_path / "restored"
    if existing:  # an empty directory made by hand (or a volume) under the usual umask
        target.mkdir()
        os.chmod(target, 0o755)
    out = cli_umask("restore", str(backup), "--data", str(target), env=PASS_ENV)
    assert out.startswith("restored")
    assert mode(target) == 0o700
    for name in SECRETS:
        assert mode(target / name) == 0o600, name
    for path in target.iterdir():
        assert mode(path) & 0o077 == 0, path
