"""``chapterhouse backup`` / ``restore``: encrypted, consistent while serving, and a restored
node keeps its keys and its followers."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import signal
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from node.features.actors.authz import principal_by_name
from node.features.following.feed import feed_page
from node.features.following.follow import follow
from node.ops.backup import BackupError
from node.ops.backup.container import (
    HEADER_LEN,
    PASSPHRASE_ENV,
    TAG_LEN,
    WRONG_PASSPHRASE,
    DecryptingReader,
    EncryptingWriter,
    KdfParams,
    read_passphrase,
)
from storage.repositories import follows as follow_repo
from tests.rig.http import AP, collection_items, get_json
from tests.rig.nodes import Node, NodeProcess, acli, cli, eventually, free_port

PASSPHRASE = "correct horse battery staple"
PASS_ENV = {PASSPHRASE_ENV: PASSPHRASE}


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (to prove a refused command wrote nothing)."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


async def _follow_and_wait(node: Node, member: str, target: str) -> None:
    await follow(node.services, member, target)
    follower = node.services.ids.actor(member)

    async def accepted() -> bool:
        async with node.services.db.read() as session:
            row = await follow_repo.follow_between(session, follower, target)
        return row is not None and row.state == "accepted"

    await eventually(accepted, timeout=30, what=f"{member}'s follow of {target} to be accepted")


@pytest.fixture
def processes() -> Iterator[list[NodeProcess]]:
    started: list[NodeProcess] = []
    yield started
    for process in started:
        process.stop(signal.SIGKILL)


# -- the round trip --------------------------------------------------------------------------


async def test_restores_a_backup_into_a_fresh_node_that_then_federates_with_its_old_followers(
    tmp_path, nodes, processes
):
    old = NodeProcess(tmp_path / "old", free_port())
    processes.append(old)
    await asyncio.to_thread(old.init)
    data = str(old.data_dir)
    chapter_id = (await acli("chapter", "create", "greenpark", "--data", data)).stdout.strip()
    await acli(
        "member", "add", "olga", "--data", data, "--chapter", "greenpark", "--role", "organiser"
    )
    await asyncio.to_thread(old.start)

    remote = await nodes()
    bob = (await remote.member("bob")).actor.ap_id
    dan = (await remote.member("dan")).actor.ap_id
    await _follow_and_wait(remote, "bob", chapter_id)
    olga = chapter_id.rsplit("/", 1)[0] + "/olga"  # a member follows the chapter she belongs to
    assert await collection_items(f"{chapter_id}/followers") == [olga, bob]
    actor_before = await get_json(chapter_id)

    # Back up while `serve` runs and while other processes write to the same database.
    out = tmp_path / "greenpark.chbackup"
    writers = [acli("member", "add", f"late{i}", "--data", data) for i in range(3)]
    backup, *_ = await asyncio.gather(
        acli("backup", "--data", data, str(out), env=PASS_ENV), *writers
    )
    assert old.process is not None and old.process.poll() is None, "the node kept serving"
    assert backup.stdout.startswith(f"backed up {old.base_url} (sqlite) to {out}")
    assert "snapshotting" in backup.stderr  # progress on stderr, the result alone on stdout
    assert len(backup.stdout.splitlines()) == 1
    assert os.stat(out).st_mode & 0o077 == 0
    assert b"PRIVATE KEY" not in out.read_bytes() and b"greenpark" not in out.read_bytes()

    new_dir = tmp_path / "new"
    restored = await acli("restore", str(out), "--data", str(new_dir), env=PASS_ENV)
    assert restored.stdout.startswith(f"restored {old.base_url} into {new_dir}")
    with sqlite3.connect(new_dir / "chapterhouse.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert (new_dir / "admin-token").read_text() == (old.data_dir / "admin-token").read_text()

    # Move: the old server goes away, the restored node takes over the same URL.
    await asyncio.to_thread(old.stop)
    new = NodeProcess(new_dir, old.port)
    processes.append(new)
    await asyncio.to_thread(new.start)

    actor_after = await get_json(chapter_id)
    assert actor_after["publicKey"] == actor_before["publicKey"]
    assert actor_after.get("assertionMethod") == actor_before.get("assertionMethod")
    assert await collection_items(f"{chapter_id}/followers") == [olga, bob]
    # Each member written during the backup is in the snapshot whole (keys and all) or not at all.
    async with aiohttp.ClientSession() as session:
        for i in range(3):
            url = f"{old.base_url}/actors/late{i}"
            async with session.get(url, headers={"Accept": AP}) as resp:
                assert resp.status in (200, 404), url
                if resp.status == 200:
                    doc = await resp.json(content_type=None)
                    assert doc["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY")

    # A new follower is accepted: the restored node verifies the remote's signatures and the
    # remote verifies the restored node's (with the key it cached before the move).
    await _follow_and_wait(remote, "dan", chapter_id)
    assert sorted(await collection_items(f"{chapter_id}/followers")) == sorted([olga, bob, dan])

    # The follower from before the backup still gets what the chapter publishes.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    call_id = (
        await acli(
            "action",
            "create",
            "--data",
            str(new_dir),
            "--as",
            "olga",
            "--chapter",
            "greenpark",
            "--title",
            "Litter pick after the move",
            "--start",
            start.isoformat(),
            "--end",
            (start + timedelta(hours=2)).isoformat(),
        )
    ).stdout.strip()

    async def bob_sees_it() -> bool:
        async with remote.services.db.read() as session:
            who = await principal_by_name(session, "bob")
        items, _ = await feed_page(remote.services, who, page=1, per_page=20)
        return any(item["id"] == call_id for item in items)

    await eventually(
        bob_sees_it, timeout=30, what="bob's feed to get the call from the restored node"
    )


# -- refusals ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory) -> tuple[Path, Path]:
    """A node (not serving) and a backup of it."""
    root = tmp_path_factory.mktemp("backed-up")
    data = root / "node"
    cli(
        "init",
        "--data",
        str(data),
        "--base-url",
        f"http://127.0.0.1:{free_port()}",
        "--allow-private-network",
    )
    cli("chapter", "create", "greenpark", "--data", str(data))
    out = root / "node.chbackup"
    cli("backup", "--data", str(data), str(out), env=PASS_ENV)
    return data, out


def _restore_refused(tmp_path: Path, backup: Path, *extra: str, env=None) -> str:
    """Restore into ``tmp_path/target``: it must exit 1 and leave ``tmp_path`` as it was."""
    before = _snapshot(tmp_path)
    entries = sorted(os.listdir(tmp_path))
    result = cli(
        "restore", str(backup), "--data", str(tmp_path / "target"), *extra, check=False, env=env
    )
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert _snapshot(tmp_path) == before
    assert sorted(os.listdir(tmp_path)) == entries, "no target, no staging directory left"
    return result.stderr


def test_wrong_passphrase_is_refused_and_nothing_is_written(tmp_path, backed_up):
    _data, backup = backed_up
    err = _restore_refused(tmp_path, backup, env={PASSPHRASE_ENV: "not the passphrase"})
    assert f"error: {WRONG_PASSPHRASE}" in err


def test_missing_passphrase_is_refused(tmp_path, backed_up, monkeypatch):
    data, backup = backed_up
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    assert "a passphrase is required" in _restore_refused(tmp_path, backup)
    out = tmp_path / "again.chbackup"
    result = cli("backup", "--data", str(data), str(out), check=False)
    assert result.returncode == 1 and "a passphrase is required" in result.stderr
    assert not out.exists()
    empty = tmp_path / "empty"
    empty.write_text("\n")
    result = cli(
        "backup", "--data", str(data), str(out), "--passphrase-file", str(empty), check=False
    )
    assert result.returncode == 1 and "is empty" in result.stderr
    assert not out.exists()


def test_the_passphrase_can_come_from_a_file(tmp_path, backed_up, monkeypatch):
    data, _backup = backed_up
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    phrase = tmp_path / "phrase"
    phrase.write_text(PASSPHRASE + "\n")
    out = tmp_path / "b.chbackup"
    cli("backup", "--data", str(data), str(out), "--passphrase-file", str(phrase))
    # The same passphrase from the environment opens it (the file's newline is not part of it).
    result = cli("restore", str(out), "--data", str(tmp_path / "restored"), env=PASS_ENV)
    assert "restored" in result.stdout and "1 chapter" in result.stdout


@pytest.mark.parametrize("damage", ["body byte", "header byte", "truncated", "extended", "magic"])
def test_a_tampered_backup_is_refused_and_nothing_is_written(tmp_path, backed_up, damage):
    _data, backup = backed_up
    raw = bytearray(backup.read_bytes())
    if damage == "body byte":
        raw[HEADER_LEN + (len(raw) - HEADER_LEN) // 2] ^= 0x01
    elif damage == "header byte":
        raw[HEADER_LEN - 10] ^= 0x01  # in the nonce prefix
    elif damage == "truncated":
        raw = raw[:-1]
    elif damage == "extended":
        raw += b"\x00" * 32
    else:
        raw[0] ^= 0x20
    work = tmp_path / "work"
    work.mkdir()
    tampered = tmp_path / "tampered.chbackup"
    tampered.write_bytes(bytes(raw))
    err = _restore_refused(work, tampered, env=PASS_ENV)
    if damage == "magic":
        assert "not a Chapterhouse backup" in err
    else:
        assert WRONG_PASSPHRASE in err


def test_restore_refuses_a_directory_that_holds_a_node(tmp_path, backed_up):
    data, backup = backed_up
    before = _snapshot(data)
    result = cli("restore", str(backup), "--data", str(data), check=False, env=PASS_ENV)
    assert result.returncode == 1
    assert "already holds a Chapterhouse node" in result.stderr
    assert _snapshot(data) == before
    assert not [p for p in os.listdir(data.parent) if ".restore-" in p]


def test_restore_into_a_directory_with_other_files_keeps_them(tmp_path, backed_up):
    _data, backup = backed_up
    target = tmp_path / "target"
    target.mkdir()
    (target / "lost+found").mkdir()
    cli("restore", str(backup), "--data", str(target), env=PASS_ENV)
    assert (target / "lost+found").is_dir()
    assert (target / "chapterhouse.toml").is_file()


def test_backup_refuses_a_missing_directory_and_an_uninitialised_node(tmp_path, backed_up):
    data, _backup = backed_up
    result = cli(
        "backup",
        "--data",
        str(data),
        str(tmp_path / "no" / "such.chbackup"),
        check=False,
        env=PASS_ENV,
    )
    assert result.returncode == 1 and "does not exist" in result.stderr
    result = cli(
        "backup",
        "--data",
        str(tmp_path / "nothing"),
        str(tmp_path / "x"),
        check=False,
        env=PASS_ENV,
    )
    assert result.returncode == 1 and "not a Chapterhouse data directory" in result.stderr
    assert not (tmp_path / "x").exists()


# -- the container format ---------------------------------------------------------------------

FAST = KdfParams(log2_n=10, r=8, p=1)
CHUNK = 1024


def _seal(plain: bytes, passphrase: bytes = b"pw") -> bytes:
    sink = io.BytesIO()
    writer = EncryptingWriter(sink, passphrase, kdf=FAST, chunk_size=CHUNK)
    for start in range(0, len(plain), 700):  # writes that straddle chunk boundaries
        writer.write(plain[start : start + 700])
    writer.finish()
    assert writer.bytes_written == len(sink.getvalue())
    return sink.getvalue()


def _open(sealed: bytes, passphrase: bytes = b"pw") -> bytes:
    reader = DecryptingReader(io.BytesIO(sealed), passphrase)
    plain = reader.read()
    reader.finish()
    return plain


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 17])
def test_chunked_round_trip(size):
    plain = os.urandom(size)
    sealed = _seal(plain)
    chunks = max(1, -(-size // CHUNK))
    assert len(sealed) == HEADER_LEN + size + chunks * TAG_LEN
    assert _open(sealed) == plain


def _chunks(sealed: bytes) -> tuple[bytes, list[bytes]]:
    block = CHUNK + TAG_LEN
    body = sealed[HEADER_LEN:]
    return sealed[:HEADER_LEN], [body[i : i + block] for i in range(0, len(body), block)]


def test_reordered_dropped_or_cut_chunks_are_refused():
    header, chunks = _chunks(_seal(os.urandom(4 * CHUNK + 100)))
    assert len(chunks) == 5
    variants = {
        "swapped": [chunks[1], chunks[0], *chunks[2:]],
        "middle dropped": [chunks[0], *chunks[2:]],
        "last dropped": chunks[:-1],  # ends on a chunk boundary: only the last flag catches it
        "last repeated": [*chunks, chunks[-1]],
    }
    for name, parts in variants.items():
        with pytest.raises(BackupError, match="wrong passphrase or corrupted backup"):
            _open(header + b"".join(parts))
        assert name


def test_wrong_passphrase_fails_on_the_first_chunk():
    with pytest.raises(BackupError, match="wrong passphrase"):
        DecryptingReader(io.BytesIO(_seal(b"x" * 5000)), b"other")


def test_headers_from_the_future_or_with_absurd_costs_are_refused():
    sealed = bytearray(_seal(b"hello"))
    future = bytearray(sealed)
    future[20] = 2  # the version byte follows the 20-byte magic
    with pytest.raises(BackupError, match="version 2 is not supported"):
        _open(bytes(future))
    costly = bytearray(sealed)
    costly[22] = 40  # log2(N): would need terabytes
    with pytest.raises(BackupError, match="scrypt parameters"):
        _open(bytes(costly))


def test_refusals_carry_their_wording_and_data_for_the_catalogues(tmp_path):
    """The CLI says a refusal in its reader's language: the English is an ``N_`` msgid and
    the data travels beside it, not pasted into the sentence."""
    future = bytearray(_seal(b"hello"))
    future[20] = 2
    with pytest.raises(BackupError) as refused:
        _open(bytes(future))
    assert refused.value.wording == (
        "backup format version {version} is not supported"
        " (this chapterhouse reads version {supported}; upgrade it)"
    )
    assert dict(refused.value.params) == {"version": 2, "supported": 1}
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(BackupError, match="is empty") as refused:
        read_passphrase(str(empty), {})
    assert refused.value.wording == "the passphrase file {path} is empty"
    assert dict(refused.value.params) == {"path": str(empty)}
    with pytest.raises(BackupError) as refused:
        DecryptingReader(io.BytesIO(_seal(b"x" * 5000)), b"other")
    assert refused.value.wording == WRONG_PASSPHRASE == str(refused.value)


def test_passphrase_sources(tmp_path):
    assert read_passphrase(None, {PASSPHRASE_ENV: "été"}) == "été".encode()
    # NFC: the same phrase typed as decomposed characters gives the same bytes.
    assert read_passphrase(None, {PASSPHRASE_ENV: "e\u0301te\u0301"}) == "été".encode()
    phrase = tmp_path / "p"
    phrase.write_text("from the file\r\nsecond line ignored\n")
    assert read_passphrase(str(phrase), {PASSPHRASE_ENV: "env"}) == b"from the file"
    with pytest.raises(BackupError, match="passphrase is required"):
        read_passphrase(None, {})
    with pytest.raises(BackupError, match="cannot read the passphrase file"):
        read_passphrase(str(tmp_path / "missing"), {})


# -- PostgreSQL (opt-in: CHAPTERHOUSE_TEST_POSTGRES_URL=postgresql+asyncpg://USER@HOST:PORT/postgres)

POSTGRES_ADMIN_URL = os.environ.get("CHAPTERHOUSE_TEST_POSTGRES_URL", "")


@pytest.mark.skipif(
    not POSTGRES_ADMIN_URL or not shutil.which("pg_dump") or not shutil.which("pg_restore"),
    reason="set CHAPTERHOUSE_TEST_POSTGRES_URL (a server where we may create databases) "
    "and install pg_dump/pg_restore",
)
async def test_postgres_backup_and_restore(tmp_path):
    asyncpg = pytest.importorskip("asyncpg")
    from sqlalchemy.engine import make_url

    admin = make_url(POSTGRES_ADMIN_URL)
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    suffix = os.urandom(4).hex()
    source_db, target_db = f"chbk_src_{suffix}", f"chbk_dst_{suffix}"
    connection = await asyncpg.connect(dsn)
    try:
        for name in (source_db, target_db):
            await connection.execute(f'CREATE DATABASE "{name}"')
        source = {"DATABASE_URL": admin.set(database=source_db).render_as_string(False)}
        target = {"DATABASE_URL": admin.set(database=target_db).render_as_string(False)}
        data = str(tmp_path / "pg")
        base = f"http://127.0.0.1:{free_port()}"
        await acli(
            "init", "--data", data, "--base-url", base, "--allow-private-network", env=source
        )
        await acli("chapter", "create", "greenpark", "--data", data, env=source)
        out = str(tmp_path / "pg.chbackup")
        result = await acli("backup", "--data", data, out, env={**source, **PASS_ENV})
        assert "(postgresql)" in result.stdout
        restored = await acli(
            "restore", out, "--data", str(tmp_path / "new"), env={**target, **PASS_ENV}
        )
        assert "1 chapter" in restored.stdout
        keys = []
        for name in (source_db, target_db):
            db = await asyncpg.connect(make_url(dsn).set(database=name).render_as_string(False))
            try:
                keys.append(
                    await db.fetch("SELECT name, rsa_private_pem FROM local_actors ORDER BY name")
                )
            finally:
                await db.close()
        assert keys[0] == keys[1] and len(keys[0]) == 2  # the chapter and the instance actor
        again = await acli(
            "restore",
            out,
            "--data",
            str(tmp_path / "again"),
            env={**target, **PASS_ENV},
            check=False,
        )
        assert again.returncode == 1 and "is not empty" in again.stderr
        assert not (tmp_path / "again").exists()
    finally:
        for name in (source_db, target_db):
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()
