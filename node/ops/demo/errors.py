"""The one error of ``chapterhouse demo``, in a module of its own so that the nodes, the client
and the script can all raise it without importing one another."""

from __future__ import annotations

from protocol.errors import ChapterhouseError


class DemoError(ChapterhouseError):
    """The demo cannot go on; the message says why."""
