"""``chapter export`` / ``chapter import``: a chapter with its members, calls and reports, sealed
under a passphrase, brought into another node as a new actor that names the old one. A wrong
passphrase, a damaged file or a taken name stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from node.features.actors.authz import principal_by_name
from node.features.actors.transfer import TransferError, export_chapter, import_chapter
from node.features.calls.lifecycle import create_action
from node.features.calls.rsvp import rsvp
from node.features.impact.reports import create_report, parse_metric_args
from node.federation.proofs import check_object_proof
from node.ops.backup import BackupError
from node.ops.backup.chapter_file import read_chapter_file, write_chapter_file
from node.ops.backup.container import WRONG_PASSPHRASE
from node.runtime.progress import no_progress
from storage.models import ActionCall, ChapterTotal, ImpactReport, LocalActor, Participant
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo
from tests.rig.nodes import Node, acli
from tests.rig.signin import set_password, stored_hash

PASSPHRASE = b"a long and secret passphrase"


async def _principal(node: Node, name: str):
    async with node.services.db.read() as session:
        return await principal_by_name(session, name)


async def _chapter_with_history(node: Node) -> dict:
    await node.chapter("greenpark", title="Green Park", timezone="Europe/London")
    await node.member("olga", role="organiser", chapter="greenpark")
    await node.member("mia", chapter="greenpark")
    await set_password(node, "olga")
    now = datetime.now(UTC).replace(microsecond=0)
    call = await create_action(
        node.services,
        await _principal(node, "olga"),
        "greenpark",
        {
            "title": "Canal clean-up",
            "start": (now - timedelta(hours=3)).isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
        },
    )
    await rsvp(node.services, await _principal(node, "mia"), call.ap_id)
    report = await create_report(
        node.services,
        await _principal(node, "olga"),
        call.ap_id,
        parse_metric_args(["bags=12:bags"], "counted"),
        "Twelve bags",
    )
    return {"call": call.ap_id, "report": report.ap_id}


async def _count(node: Node, model) -> int:
    async with node.services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_round_trip_makes_a_new_actor_that_names_the_old(nodes, tmp_path: Path):
    old_node, new_node = await nodes(), await nodes()
    made = await _chapter_with_history(old_node)
    progress: list[str] = []

    def told(wording: str, /, **params: object) -> None:
        progress.append(wording.format(**params))

    document = await export_chapter(old_node.services, "greenpark", told)
    assert progress  # the long work says what it is doing
    path = tmp_path / "greenpark.chapter"
    write_chapter_file(path, document, PASSPHRASE)
    raw = path.read_bytes()
    assert b"Canal clean-up" not in raw and b"PRIVATE KEY" not in raw  # sealed

    result = await import_chapter(new_node.services, read_chapter_file(path, PASSPHRASE), told)
    old_id = old_node.services.ids.actor("greenpark")
    new_id = new_node.services.ids.actor("greenpark")
    assert (result.ap_id, result.was) == (new_id, old_id)
    assert sorted(result.members) == ["mia", "olga"]
    async with new_node.services.db.read() as session:
        chapter = await actor_repo.local_actor_by_name(session, "greenpark")
        old_chapter = None
    async with old_node.services.db.read() as session:
        old_chapter = await actor_repo.local_actor_by_name(session, "greenpark")
    assert chapter is not None and old_chapter is not None
    assert chapter.also_known_as == [old_id]
    assert (chapter.title, chapter.timezone) == ("Green Park", "Europe/London")
    assert chapter.rsa_private_pem != old_chapter.rsa_private_pem  # a new actor: fresh keys

    call_id = made["call"].replace(old_id, new_id)
    async with new_node.services.db.read() as session:
        call = await session.scalar(select(ActionCall).where(ActionCall.ap_id == call_id))
        assert call is not None and call.local_actor_id == chapter.id
        people = list(await session.scalars(select(Participant.actor)))
        report = await session.scalar(select(ImpactReport))
        totals = list(await session.scalars(select(ChapterTotal)))
        olga_follows = await follow_repo.follow_between(
            session, new_node.services.ids.actor("olga"), new_id
        )
    assert call.document["id"] == call_id and call.document["attributedTo"] == new_id
    await check_object_proof(new_node.services, call.document, new_id)  # signed again, verifies
    assert people == [old_node.services.ids.actor("mia")]  # the ids they took part with
    assert report is not None and report.ap_id == made["report"].replace(old_id, new_id)
    assert report.call == call_id and report.document["attributedTo"] == new_id
    await check_object_proof(new_node.services, report.document, new_id)
    assert [(t.chapter, t.metric) for t in totals] == [(new_id, "bags")]
    assert olga_follows is not None and olga_follows.state == "accepted"
    # Members sign in with the password they know.
    assert await stored_hash(new_node, "olga") == await stored_hash(old_node, "olga")

    # The same file again: the name is taken, nothing more is stored.
    before = await _count(new_node, LocalActor)
    with pytest.raises(TransferError, match="already exists"):
        await import_chapter(new_node.services, read_chapter_file(path, PASSPHRASE), no_progress)
    assert await _count(new_node, LocalActor) == before
    # Under another name: members whose names are taken are skipped, not merged.
    again = await import_chapter(
        new_node.services, read_chapter_file(path, PASSPHRASE), no_progress, name="greenpark2"
    )
    assert sorted(again.skipped) == ["mia", "olga"] and again.members == []


async def test_wrong_passphrase_or_damaged_file_is_refused(nodes, tmp_path: Path):
    node = await nodes()
    await _chapter_with_history(node)
    document = await export_chapter(node.services, "greenpark", no_progress)
    path = tmp_path / "greenpark.chapter"
    write_chapter_file(path, document, PASSPHRASE)
    with pytest.raises(BackupError, match=WRONG_PASSPHRASE):
        read_chapter_file(path, b"not the passphrase")
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    damaged = tmp_path / "damaged.chapter"
    damaged.write_bytes(bytes(raw))
    with pytest.raises(BackupError, match=WRONG_PASSPHRASE):
        read_chapter_file(damaged, PASSPHRASE)
    truncated = tmp_path / "truncated.chapter"
    truncated.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(BackupError, match=WRONG_PASSPHRASE):
        read_chapter_file(truncated, PASSPHRASE)
    with pytest.raises(TransferError, match="not a Chapterhouse chapter export"):
        await import_chapter(node.services, {"format": "something else"}, no_progress)


async def test_cli_import_refuses_wrong_passphrase_and_stores_nothing(nodes, tmp_path: Path):
    old_node, new_node = await nodes(), await nodes()
    await _chapter_with_history(old_node)
    secret = tmp_path / "secret"
    secret.write_text(PASSPHRASE.decode() + "\n")
    out = tmp_path / "gp.chapter"
    done = await acli(
        "chapter", "export", "greenpark", "--data", str(old_node.data_dir), str(out),
        "--passphrase-file", str(secret), env=old_node.cli_env,
    )  # fmt: skip
    assert "exported" in done.stdout
    missing = await acli(
        "chapter", "export", "greenpark", "--data", str(old_node.data_dir), str(out),
        check=False, env={**old_node.cli_env, "CHAPTERHOUSE_EXPORT_PASSPHRASE": ""},
    )  # fmt: skip
    assert missing.returncode == 1 and "CHAPTERHOUSE_EXPORT_PASSPHRASE" in missing.stderr

    before = await _count(new_node, LocalActor)
    wrong = tmp_path / "wrong"
    wrong.write_text("guess\n")
    refused = await acli(
        "chapter", "import", str(out), "--data", str(new_node.data_dir),
        "--passphrase-file", str(wrong), check=False, env=new_node.cli_env,
    )  # fmt: skip
    assert refused.returncode == 1
    assert WRONG_PASSPHRASE in refused.stderr and "Traceback" not in refused.stderr
    damaged = tmp_path / "damaged.chapter"
    damaged.write_bytes(out.read_bytes()[:100])
    broken = await acli(
        "chapter", "import", str(damaged), "--data", str(new_node.data_dir),
        "--passphrase-file", str(secret), check=False, env=new_node.cli_env,
    )  # fmt: skip
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert await _count(new_node, LocalActor) == before

    imported = await acli(
        "chapter", "import", str(out), "--data", str(new_node.data_dir),
        "--passphrase-file", str(secret), env=new_node.cli_env,
    )  # fmt: skip
    assert imported.stdout.strip() == new_node.services.ids.actor("greenpark")
    assert "calls" in imported.stderr  # progress
