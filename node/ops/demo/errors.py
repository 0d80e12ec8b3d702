"""The one error of ``chapterhouse demo``, in a module of its own so that the nodes, the client
and the script can all raise it without importing one another."""

from __future__ import annotations

from protocol.errors import WordedError


class DemoError(WordedError):
    """The demo cannot go on; the message says why. It is raised with an ``N_`` wording and its
    data as params, so the CLI says it in the run's language (``ChapterhouseError.spoken``)."""
