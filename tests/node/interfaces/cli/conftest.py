"""Fixtures the command-line tests share."""

from __future__ import annotations

import pytest

#: Where the CLI reads its language (node/interfaces/cli/words.py ``language_for``).
LANGUAGE_VARIABLES = (
    "CHAPTERHOUSE_LANGUAGE",
    "CHAPTERHOUSE_DEFAULT_LANGUAGE",
    "LC_ALL",
    "LC_MESSAGES",
    "LANG",
)


@pytest.fixture
def no_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """No language from the machine running the tests: each test says which one it wants."""
    for variable in LANGUAGE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
