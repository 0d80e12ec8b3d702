"""The command line: help, exit codes, clear refusals."""

from __future__ import annotations

from tests.rig.nodes import cli


def test_help_lists_the_commands():
    out = cli("--help").stdout
    for command in ("init", "chapter", "member", "serve", "follow", "following"):
        assert command in out


def test_commands_on_an_uninitialised_directory_fail_clearly(tmp_path):
    result = cli("member", "add", "alice", "--data", str(tmp_path / "nothing"), check=False)
    assert result.returncode == 1
    assert "not a Chapterhouse data directory" in result.stderr


def test_init_refuses_plain_http_without_the_testing_flag(tmp_path):
    result = cli(
        "init", "--data", str(tmp_path / "n"), "--base-url", "http://127.0.0.1:9999", check=False
    )
    assert result.returncode == 1
    assert "allow_private_network" in result.stderr


def test_init_then_create_and_refuse_duplicates_and_bad_names(tmp_path):
    data = str(tmp_path / "n")
    out = cli(
        "init", "--data", data, "--base-url", "http://127.0.0.1:9999", "--allow-private-network"
    ).stdout
    assert "admin token: chp_" in out
    assert (
        cli("init", "--data", data, "--base-url", "http://127.0.0.1:9999", check=False).returncode
        == 1
    )
    chapter_id = cli("chapter", "create", "greenpark", "--data", data).stdout.strip()
    assert chapter_id == "http://127.0.0.1:9999/actors/greenpark"
    dup = cli("chapter", "create", "greenpark", "--data", data, check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    bad = cli("member", "add", "Bad Name!", "--data", data, check=False)
    assert bad.returncode == 1 and "name must be" in bad.stderr
    usage = cli("member", "add", "x", "--data", data, "--role", "king", check=False)
    assert usage.returncode == 2


def test_follow_of_an_unreachable_handle_fails_clearly(tmp_path):
    data = str(tmp_path / "n")
    cli("init", "--data", data, "--base-url", "http://127.0.0.1:9999", "--allow-private-network")
    cli("member", "add", "alice", "--data", data)
    result = cli("follow", "--data", data, "--as", "alice", "acct:nobody@127.0.0.1:1", check=False)
    assert result.returncode == 1
    assert "cannot resolve" in result.stderr


async def test_keys_rotate_replaces_keys_and_queues_an_update_for_followers(tmp_path):
    from sqlalchemy import select

    from storage.engine import open_database, sqlite_url
    from storage.models import Delivery, LocalActor, OutboxActivity
    from tests.rig.bulk import add_followers

    data = tmp_path / "n"
    cli(
        "init",
        "--data",
        str(data),
        "--base-url",
        "http://127.0.0.1:9999",
        "--allow-private-network",
    )
    chapter = cli("chapter", "create", "greenpark", "--data", str(data)).stdout.strip()
    db = open_database(sqlite_url(str(data / "chapterhouse.db")))
    try:
        await add_followers(
            db, chapter, [("http://127.0.0.1:9998/actors/x", "http://127.0.0.1:9998/inbox")]
        )
        async with db.read() as session:
            before = (
                await session.scalar(select(LocalActor).where(LocalActor.name == "greenpark"))
            ).rsa_public_pem
        out = cli("keys", "rotate", "--data", str(data), "--as", "greenpark").stdout
        assert out.strip() == f"{chapter}#main-key rotated"
        async with db.read() as session:
            actor = await session.scalar(select(LocalActor).where(LocalActor.name == "greenpark"))
            update = await session.scalar(
                select(OutboxActivity).where(OutboxActivity.activity_type == "Update")
            )
            targets = list(
                await session.scalars(
                    select(Delivery.inbox).where(Delivery.activity_id == update.id)
                )
            )
        assert actor.rsa_public_pem != before
        assert update.body["object"]["publicKey"]["publicKeyPem"] == actor.rsa_public_pem
        assert targets == ["http://127.0.0.1:9998/inbox"]
    finally:
        await db.dispose()
    bad = cli("keys", "rotate", "--data", str(data), "--as", "nobody", check=False)
    assert bad.returncode == 1 and "nobody" in bad.stderr
