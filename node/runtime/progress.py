"""How long work tells its person how far it got, in their language.

Backups, restores, chapter exports and directory refreshes run below the interfaces, which
alone know the reader's language. So they say each step as an ``N_``-marked wording and its
data (``progress(N_("encrypting to {path}"), path=out)``); the CLI looks the wording up in its
catalogue and fills in the data (``protocol.errors.said``), numbers written the reader's way.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Told each step of a long piece of work: an ``N_`` wording and the data it names."""

    def __call__(self, wording: str, /, **params: object) -> None: ...


def no_progress(wording: str, /, **params: object) -> None:
    """The default ``Progress``: say nothing."""
