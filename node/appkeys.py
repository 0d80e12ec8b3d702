"""Typed keys for everything the aiohttp app carries."""

from __future__ import annotations

from aiohttp import web

from .group_commit import GroupCommitWriter
from .services import Services

SERVICES = web.AppKey("services", Services)
INBOX_WRITER = web.AppKey("inbox_writer", GroupCommitWriter)
