"""Sessions in encrypted cookies, and CSRF tokens for every form."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from aiohttp import web
from aiohttp_session import Session, get_session, setup
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from node.features.actors.passwords import constant_time_equal
from node.runtime.errors import HttpError

COOKIE = "chapterhouse_session"


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
            403, "the form's CSRF token is missing or wrong; reload the page and try again"
        )
    return {k: v for k, v in form.items() if isinstance(v, str)}
