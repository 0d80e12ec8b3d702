"""Typed keys for everything the aiohttp app carries, in one place.

The values belong to the rooms (the inbox writer to federation, the parsed-call cache to the web
pages); their types are named for the type checker only, so this kernel module imports no room.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from node.runtime.metrics import Metrics
from node.runtime.services import Services

if TYPE_CHECKING:
    from node.federation.inbox.group_commit import GroupCommitWriter
    from node.interfaces.web.call_cache import ParsedCalls

SERVICES = web.AppKey("services", Services)
METRICS = web.AppKey("metrics", Metrics)
TASKS = web.AppKey("tasks", list[asyncio.Task[None]])
INBOX_WRITER: web.AppKey[GroupCommitWriter] = web.AppKey("inbox_writer")
PARSED_CALLS: web.AppKey[ParsedCalls] = web.AppKey("parsed_calls")
