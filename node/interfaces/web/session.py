"""Sessions in encrypted cookies, and CSRF tokens for every form.

A signed-in session holds the member's id and their ``session_epoch`` at sign-in; each page load
checks the epoch against the database, so revoking (raising the epoch) signs every existing
cookie out even though the node cannot reach the cookies themselves.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from aiohttp import web
from aiohttp_session import Session, get_session, setup
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from node.features.actors.authz import Principal
from node.features.actors.passwords import constant_time_equal
from node.features.actors.signin import session_principal
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from protocol.errors import N_  # not web.language's: it imports this module
from storage.models import LocalActor

COOKIE = "chapterhouse_session"
MEMBER_ID = "member_id"
EPOCH = "epoch"
LEGACY_MEMBER = "member"  # the name, in cookies from before epochs: no longer signs anyone in


def session_key(data_dir: Path) -> bytes:
    """The cookie-encryption key, created once per node and kept in the data directory."""
    path = data_dir / "session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return path.read_bytes()[:32]


def setup_sessions(app: web.Application, data_dir: Path, *, secure: bool) -> None:
    storage = EncryptedCookieStorage(
        session_key(data_dir),
        cookie_name=COOKIE,
        httponly=True,
        secure=secure,
        samesite="Lax",
        max_age=14 * 24 * 3600,
    )
    setup(app, storage)


def csrf_token(session: Session) -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


async def check_csrf(request: web.Request) -> dict[str, str]:
    """The posted form, after checking its CSRF token against the session's."""
    form = await request.post()
    session = await get_session(request)
    expected = session.get("csrf")
    sent = form.get("csrf")
    if (
        not isinstance(expected, str)
        or not isinstance(sent, str)
        or not constant_time_equal(sent, expected)
    ):
        raise HttpError(
            403, N_("the form's CSRF token is missing or wrong; reload the page and try again")
        )
    return {k: v for k, v in form.items() if isinstance(v, str)}


def remember_member(session: Session, member: LocalActor) -> None:
    """Sign ``member`` in on ``session`` (a fresh one: the caller makes it)."""
    session[MEMBER_ID] = member.id
    session[EPOCH] = member.session_epoch


async def signed_in_member(request: web.Request) -> Principal | None:
    """The member this request's session signs in, or None: not signed in, the actor has gone,
    or the member's sessions were revoked since (the cookie's epoch is old). A cookie that no
    longer signs anyone in forgets its member."""
    session = await get_session(request)
    member_id, epoch = session.get(MEMBER_ID), session.get(EPOCH)
    who = None
    if type(member_id) is int and type(epoch) is int:  # not bool, not a string
        who = await session_principal(request.app[SERVICES], member_id, epoch)
    if who is None and any(key in session for key in (MEMBER_ID, EPOCH, LEGACY_MEMBER)):
        for key in (MEMBER_ID, EPOCH, LEGACY_MEMBER):
            session.pop(key, None)
    return who
