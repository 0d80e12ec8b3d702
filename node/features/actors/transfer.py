"""A chapter as one document, to take it to another node (``chapter export`` / ``chapter import``).

What travels: the chapter's settings and keys, its members' accounts, its calls with their
participants and attendance, and its reports. The document is only ever written sealed under a
passphrase (``node/ops/backup/chapter_file.py``): it holds private keys and password hashes.

What the new node makes of it:

- **The chapter** gets a *new* actor id on the new host, so it gets *fresh keys*: a key is
  bound to its actor's id, and the old node keeps the old keys to sign the ``Move``. The new
  actor's ``alsoKnownAs`` names the old id (and whatever that one was before), which is what
  followers check before they follow it. The old keys travel only so that importing on a node
  serving the *old* origin (a rebuilt old node) restores the very same actor, keys included.
- **Calls and reports** become the new chapter's: every id under the old actor's id is
  rewritten under the new one, and each document is signed again with the new key (the old
  proofs would name a key the new actor does not publish). Nothing is sent: followers move
  with the ``Move`` and read the outbox when the new chapter accepts them.
- **Members** are people with accounts on the old node. Each gets an account of the same name
  on the new node, with the same e-mail, language and password hash (so they sign in there
  with the password they know) and the same role. A name already taken on the new node is
  skipped and reported, never merged with a stranger's account. Their accounts on the old node
  stay theirs; those that followed the chapter there move like every follower.
  Participants and attendance keep the actor ids they were recorded with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.local import new_local_actor
from node.features.following.membership import follow_home
from node.features.impact.chapter_sums import replace_values, stored_values
from node.federation.proofs import sign_object
from node.runtime.progress import Progress
from node.runtime.services import Services
from protocol.errors import N_, MalformedDocument, WordedError
from protocol.ids import validate_local_name
from protocol.proofs import jcs_sha256
from storage.errors import AlreadyExists
from storage.models import ActionCall, Attendance, ImpactReport, LocalActor, Participant
from storage.models.states import GROUP_KINDS, ActorKind, Role
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo
from storage.repositories import moves as move_repo

FORMAT: Final = "chapterhouse-chapter-export"
VERSION: Final = 1


_SETTINGS: Final = (
    "title",
    "summary",
    "manually_approves_followers",
    "timezone",
    "reminder_offsets",
    "place_name",
    "address",
    "latitude",
    "longitude",
    "radius_km",
    "regions",
    "languages",
    "topics",
)
_KEYS: Final = (
    "rsa_private_pem",
    "rsa_public_pem",
    "ed25519_private_pem",
    "ed25519_public_multibase",
)
_MEMBER: Final = (
    "title",
    "summary",
    "email",
    "language",
    "password_hash",
    "show_commitments",
    "reminders",
)
_CALL: Final = (
    "title",
    "status",
    "capacity",
    "participant_count",
    "adoption",
    "checkin_code",
    "walk_ins",
)


class TransferError(WordedError):
    """The chapter cannot be exported or imported; nothing was stored. Worded with its data,
    so the CLI says it in its reader's language."""


@dataclass
class Imported:
    name: str
    ap_id: str
    was: str
    calls: int = 0
    reports: int = 0
    members: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> tuple[str, dict[str, object]]:
        """What was brought in, as an ``N_`` wording and its data (the CLI says it)."""
        return (
            N_("imported {old} as {new}: calls: {calls}, reports: {reports}, members: {members}"),
            {
                "old": self.was,
                "new": self.ap_id,
                "calls": self.calls,
                "reports": self.reports,
                "members": len(self.members),
            },
        )


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _parse_time(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise TransferError(N_("the export is damaged: {what} has no time"), what=what)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise TransferError(
            N_("the export is damaged: {what}: {reason}"), what=what, reason=str(exc)
        ) from exc
    if parsed.tzinfo is None:
        raise TransferError(N_("the export is damaged: {what} has no time zone"), what=what)
    return parsed.astimezone(UTC)


# -- export ----------------------------------------------------------------------------------


async def export_chapter(services: Services, name: str, progress: Progress) -> dict[str, Any]:
    """The chapter ``name`` as one JSON-able document (see the module's docstring)."""
    async with services.db.read() as session:
        chapter = await actor_repo.local_actor_by_name(session, name)
        if chapter is None or chapter.kind not in GROUP_KINDS:
            raise TransferError(N_("no chapter named {name!r} on this node"), name=name)
        progress(N_("exporting {chapter}"), chapter=chapter.ap_id)
        members = await move_repo.members_of(session, chapter.id)
        calls = await move_repo.calls_of(session, chapter.id)
        call_ids = [c.id for c in calls]
        participants = await move_repo.participants_of(session, call_ids)
        attendance = await move_repo.attendance_of(session, call_ids)
        reports = await move_repo.reports_of(session, chapter.ap_id)
        followers = await follow_repo.followers_with_state(session, chapter.ap_id)
    progress(
        N_("members: {members}, calls: {calls}, reports: {reports}"),
        members=len(members),
        calls=len(calls),
        reports=len(reports),
    )
    by_call: dict[int, dict[str, list[dict[str, Any]]]] = {
        c.id: {"participants": [], "attendance": []} for c in calls
    }
    for p in participants:
        by_call[p.call_id]["participants"].append(
            {
                "actor": p.actor,
                "join_activity_id": p.join_activity_id,
                "created_at": _time(p.created_at),
                "state": p.state,
                "slot": p.slot,
            }
        )
    for a in attendance:
        by_call[a.call_id]["attendance"].append(
            {
                "actor": a.actor,
                "name": a.name,
                "slot": a.slot,
                "recorded_by": a.recorded_by,
                "created_at": _time(a.created_at),
            }
        )
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _time(services.clock.now()),
        "source": services.settings.base_url,
        "chapter": {
            "name": chapter.name,
            "ap_id": chapter.ap_id,
            "kind": chapter.kind,
            "also_known_as": list(chapter.also_known_as or []),
            "created_at": _time(chapter.created_at),
            **{k: getattr(chapter, k) for k in _SETTINGS},
            "keys": {k: getattr(chapter, k) for k in _KEYS},
        },
        "members": [
            {
                "name": m.name,
                "ap_id": m.ap_id,
                "role": ms.role,
                "active": ms.active,
                "created_at": _time(m.created_at),
                **{k: getattr(m, k) for k in _MEMBER},
            }
            for m, ms in members
            if m.kind == ActorKind.MEMBER
        ],
        "followers": [{"actor": f, "state": s} for f, s in followers],
        "calls": [
            {
                "ap_id": c.ap_id,
                "start_time": _time(c.start_time),
                "end_time": _time(c.end_time),
                "published_at": _time(c.published_at),
                "updated_at": _time(c.updated_at),
                "poll": c.poll,
                "document": c.document,
                **{k: getattr(c, k) for k in _CALL},
                **by_call[c.id],
            }
            for c in calls
        ],
        "reports": [
            {
                "ap_id": r.ap_id,
                "call": r.call,
                "document": r.document,
                "version": _time(r.version),
                "retracted": r.retracted,
            }
            for r in reports
        ],
    }


# -- import ----------------------------------------------------------------------------------


def rewrite(value: Any, old: str, new: str) -> Any:
    """``value`` with every id under ``old`` (itself, ``old/...``, ``old#...``) under ``new``."""
    if isinstance(value, str):
        if value == old or value.startswith((old + "/", old + "#")):
            return new + value[len(old) :]
        return value
    if isinstance(value, list):
        return [rewrite(v, old, new) for v in value]
    if isinstance(value, Mapping):
        return {k: rewrite(v, old, new) for k, v in value.items()}
    return value


def _resigned(services: Services, chapter: LocalActor, doc: Any, old: str) -> dict[str, object]:
    if not isinstance(doc, Mapping):
        raise TransferError(N_("the export is damaged: a document is not an object"))
    moved = rewrite({k: v for k, v in doc.items() if k != "proof"}, old, chapter.ap_id)
    return sign_object(services, chapter, moved)


def _check(payload: Any) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping) or payload.get("format") != FORMAT:
        raise TransferError(N_("not a Chapterhouse chapter export"))
    if payload.get("version") != VERSION:
        raise TransferError(
            N_(
                "chapter export version {version} is not supported "
                "(this chapterhouse reads version {supported})"
            ),
            version=repr(payload.get("version")),  # an identifier, written as the file has it
            supported=str(VERSION),
        )
    chapter = payload.get("chapter")
    if not isinstance(chapter, Mapping) or not isinstance(chapter.get("ap_id"), str):
        raise TransferError(N_("the export is damaged: no chapter"))
    for part in ("members", "calls", "reports"):
        if not isinstance(payload.get(part), list):
            raise TransferError(N_("the export is damaged: no {part}"), part=part)
    return chapter


async def import_chapter(
    services: Services, payload: Any, progress: Progress, *, name: str | None = None
) -> Imported:
    """Create the exported chapter on this node, in one transaction (all or nothing)."""
    source = _check(payload)
    new_name = name or str(source.get("name") or "")
    try:
        validate_local_name(new_name)
    except MalformedDocument as exc:
        raise TransferError(N_("--name: {reason}"), reason=str(exc)) from exc
    old = str(source["ap_id"])
    kind = str(source.get("kind") or ActorKind.CHAPTER)
    if kind not in GROUP_KINDS:
        raise TransferError(N_("the export is damaged: not a chapter"))
    chapter = new_local_actor(services, new_name, kind)
    for key in _SETTINGS:
        if key in source:
            setattr(chapter, key, source[key])
    restoring = chapter.ap_id == old
    if restoring:  # the same actor on its own origin: its own keys
        keys = source.get("keys")
        if not isinstance(keys, Mapping) or any(not isinstance(keys.get(k), str) for k in _KEYS):
            raise TransferError(N_("the export is damaged: no keys"))
        for key in _KEYS:
            setattr(chapter, key, keys[key])
        chapter.also_known_as = list(source.get("also_known_as") or []) or None
    else:
        before = [a for a in source.get("also_known_as") or [] if isinstance(a, str)]
        chapter.also_known_as = [old, *(a for a in before if a not in {old, chapter.ap_id})]
    result = Imported(new_name, chapter.ap_id, old)
    progress(N_("importing {old} as {new}"), old=old, new=chapter.ap_id)
    # Keys are made before the transaction opens (as sign-ups do): RSA generation is slow.
    members = [m for m in payload["members"] if isinstance(m, Mapping)]
    accounts = _member_accounts(services, members, progress)
    try:
        async with services.db.write() as session:  # an error rolls all of it back
            try:
                await actor_repo.add_local_actor(session, chapter)
            except AlreadyExists as exc:
                raise TransferError(
                    N_("an actor named {name!r} already exists on this node: give --name NEWNAME"),
                    name=new_name,
                ) from exc
            await _import_members(session, services, chapter, accounts, result)
            result.calls = await _import_calls(session, services, chapter, payload["calls"], old)
            progress(N_("calls imported: {count}"), count=result.calls)
            result.reports = await _import_reports(
                session, services, chapter, payload["reports"], old
            )
            progress(N_("reports imported: {count}"), count=result.reports)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise TransferError(N_("the export is damaged: {reason}"), reason=repr(exc)) from exc
    return result


def _member_accounts(
    services: Services, members: list[Mapping[str, Any]], progress: Progress
) -> list[tuple[LocalActor, Mapping[str, Any]]]:
    out = []
    for index, member in enumerate(members, 1):
        name = member.get("name")
        if not isinstance(name, str):
            raise TransferError(N_("the export is damaged: a member has no name"))
        actor = new_local_actor(services, name, ActorKind.MEMBER)
        for key in _MEMBER:
            if key in member:
                setattr(actor, key, member[key])
        if isinstance(member.get("ap_id"), str) and member["ap_id"] != actor.ap_id:
            actor.also_known_as = [member["ap_id"]]
        out.append((actor, member))
        if index % 50 == 0:
            progress(
                N_("prepared {index} of {total} member accounts"), index=index, total=len(members)
            )
    return out


async def _import_members(
    session: AsyncSession,
    services: Services,
    chapter: LocalActor,
    accounts: list[tuple[LocalActor, Mapping[str, Any]]],
    result: Imported,
) -> None:
    now = services.clock.now()
    for actor, member in accounts:
        if await actor_repo.local_actor_by_name(session, actor.name) is not None:
            result.skipped.append(actor.name)  # never merged with someone else's account
            continue
        await actor_repo.add_local_actor(session, actor)
        role = str(member.get("role") or Role.MEMBER)
        if role not in tuple(Role):
            role = Role.MEMBER
        await action_repo.set_membership(session, actor.id, chapter.id, role, now)
        await follow_home(session, services, actor, chapter.ap_id)
        result.members.append(actor.name)


async def _import_calls(
    session: AsyncSession, services: Services, chapter: LocalActor, calls: list[Any], old: str
) -> int:
    now = services.clock.now()
    count = 0
    for item in calls:
        if not isinstance(item, Mapping) or not isinstance(item.get("ap_id"), str):
            raise TransferError(N_("the export is damaged: a call has no id"))
        row = ActionCall(
            ap_id=rewrite(item["ap_id"], old, chapter.ap_id),
            chapter=chapter.ap_id,
            local_actor_id=chapter.id,
            start_time=_parse_time(item.get("start_time"), "a call's start"),
            end_time=_parse_time(item.get("end_time"), "a call's end"),
            published_at=_parse_time(item.get("published_at"), "a call's publication"),
            updated_at=_parse_time(item.get("updated_at"), "a call's version"),
            received_at=now,
            poll=rewrite(item.get("poll"), old, chapter.ap_id),
            document=_resigned(services, chapter, item.get("document"), old),
            **{k: item.get(k) for k in _CALL if k in item},
        )
        session.add(row)
        await session.flush()
        for p in item.get("participants") or []:
            session.add(
                Participant(
                    call_id=row.id,
                    actor=p["actor"],
                    join_activity_id=p["join_activity_id"],
                    created_at=_parse_time(p.get("created_at"), "a participant"),
                    state=p.get("state") or "accepted",
                    slot=rewrite(p.get("slot"), old, chapter.ap_id),
                )
            )
        for a in item.get("attendance") or []:
            session.add(
                Attendance(
                    call_id=row.id,
                    actor=a.get("actor"),
                    name=a.get("name"),
                    slot=rewrite(a.get("slot"), old, chapter.ap_id),
                    recorded_by=a["recorded_by"],
                    created_at=_parse_time(a.get("created_at"), "an attendance"),
                )
            )
        count += 1
    await session.flush()
    return count


async def _import_reports(
    session: AsyncSession, services: Services, chapter: LocalActor, reports: list[Any], old: str
) -> int:
    now = services.clock.now()
    count = 0
    for item in reports:
        if not isinstance(item, Mapping) or not isinstance(item.get("ap_id"), str):
            raise TransferError(N_("the export is damaged: a report has no id"))
        doc = _resigned(services, chapter, item.get("document"), old)
        retracted = bool(item.get("retracted"))
        session.add(
            ImpactReport(
                ap_id=rewrite(item["ap_id"], old, chapter.ap_id),
                chapter=chapter.ap_id,
                call=rewrite(str(item.get("call") or ""), old, chapter.ap_id),
                local_actor_id=chapter.id,
                document=doc,
                version=_parse_time(item.get("version"), "a report's version"),
                retracted=retracted,
                sha256=jcs_sha256(doc),
                received_at=now,
            )
        )
        if not retracted:
            await replace_values(session, chapter.ap_id, {}, stored_values(doc))
        count += 1
    await session.flush()
    return count
