"""Typed keys for everything the aiohttp app carries."""

from __future__ import annotations

from aiohttp import web

from node.federation.inbox.group_commit import GroupCommitWriter
from node.runtime.services import Services

SERVICES = web.AppKey("services", Services)
INBOX_WRITER = web.AppKey("inbox_writer", GroupCommitWriter)
