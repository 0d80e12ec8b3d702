from pathlib import Path

import pytest

from node.runtime.config import ConfigError, load_settings, write_config


def test_file_then_environment_precedence(tmp_path: Path):
    write_config(tmp_path, {"base_url": "https://a.example", "port": 8081})
    settings = load_settings(tmp_path, env={"CHAPTERHOUSE_PORT": "9000"})
    assert settings.base_url == "https://a.example"
    assert settings.port == 9000
    assert settings.database_url.endswith("chapterhouse.db")
    env = {"DATABASE_URL": "sqlite+aiosqlite:////tmp/x.db"}
    assert load_settings(tmp_path, env=env).database_url == "sqlite+aiosqlite:////tmp/x.db"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CHAPTERHOUSE_PORT": "eighty"}, "port"),
        ({"CHAPTERHOUSE_ALLOW_PRIVATE_NETWORK": "maybe"}, "allow_private_network"),
        ({"CHAPTERHOUSE_BASE_URL": "ftp://x"}, "base_url"),
        ({"CHAPTERHOUSE_BASE_URL": "http://127.0.0.1"}, "allow_private_network"),
    ],
)
def test_bad_values_name_the_setting(tmp_path: Path, env, message):
    write_config(tmp_path, {"base_url": "https://a.example"})
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path, env=env)


def test_unknown_settings_and_broken_toml_are_reported(tmp_path: Path):
    (tmp_path / "chapterhouse.toml").write_text('base_url = "https://a.example"\nprot = 1\n')
    with pytest.raises(ConfigError, match="prot"):
        load_settings(tmp_path, env={})
    (tmp_path / "chapterhouse.toml").write_text("base_url = ")
    with pytest.raises(ConfigError, match="chapterhouse.toml"):
        load_settings(tmp_path, env={})
