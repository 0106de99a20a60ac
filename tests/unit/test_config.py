from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.core.config import ConfigError, Mode, load_settings


def test_defaults_apply_when_nothing_is_set() -> None:
    settings = load_settings(environ={})
    assert settings.port == 8443
    assert settings.host == "127.0.0.1"
    assert settings.mode is Mode.DEVELOPMENT
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")


def test_command_line_beats_environment_beats_file(tmp_path: Path) -> None:
    config = tmp_path / "sb.toml"
    config.write_text('[server]\nport = 9000\nhost = "0.0.0.0"\nredis-url = "redis://file"\n')
    env = {"SWITCHBOARD_PORT": "9100", "SWITCHBOARD_REDIS_URL": "redis://env"}
    settings = load_settings({"port": 9200, "host": None}, config_file=config, environ=env)
    assert settings.port == 9200
    assert settings.redis_url == "redis://env"
    assert settings.host == "0.0.0.0"


def test_config_file_can_come_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "sb.toml"
    config.write_text('mode = "production"\n')
    settings = load_settings(environ={"SWITCHBOARD_CONFIG": str(config)})
    assert settings.mode is Mode.PRODUCTION


def test_unknown_setting_in_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "sb.toml"
    config.write_text("[server]\nprot = 1\n")
    with pytest.raises(ConfigError, match="prot"):
        load_settings(config_file=config, environ={})


def test_bad_value_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="port"):
        load_settings(environ={"SWITCHBOARD_PORT": "eighty"})


def test_endpoint_uses_public_host_and_brackets_ipv6() -> None:
    assert load_settings({"public_host": "sb.example"}, environ={}).endpoint(1) == (
        "https://sb.example:1/"
    )
    assert load_settings({"host": "::1"}, environ={}).endpoint(2) == "https://[::1]:2/"
