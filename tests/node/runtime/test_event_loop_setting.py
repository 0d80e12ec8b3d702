"""``event_loop``: serve and worker run on asyncio by default, on uvloop when asked."""

from __future__ import annotations

import pytest

from node.runtime.config import ConfigError, load_settings


def test_asyncio_by_default_uvloop_on_request_and_nothing_else(tmp_path):
    env = {"CHAPTERHOUSE_BASE_URL": "https://chapter.example"}
    assert load_settings(tmp_path, env).event_loop == "asyncio"
    assert load_settings(tmp_path, {**env, "CHAPTERHOUSE_EVENT_LOOP": "uvloop"}).event_loop == (
        "uvloop"
    )
    with pytest.raises(ConfigError, match="event_loop must be one of asyncio, uvloop"):
        load_settings(tmp_path, {**env, "CHAPTERHOUSE_EVENT_LOOP": "trio"})
