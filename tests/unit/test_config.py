from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from switchboard.core.config import (
    ConfigError,
    Mode,
    Settings,
    load_config,
    load_settings,
    node_config,
)
from switchboard.core.errors import SwitchboardError


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
    assert load_config({"public_host": "sb.example"}, environ={}).server.endpoint(1) == (
        "https://sb.example:1/"
    )
    assert load_config({"host": "::1"}, environ={}).server.endpoint(2) == "https://[::1]:2/"


class _RecordingSettings:
    """Reads through to real settings and remembers which names were read."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.read: set[str] = set()

    def __getattr__(self, name: str) -> object:
        value = getattr(self._settings, name)
        self.read.add(name)
        return value


def test_every_setting_reaches_a_config_section() -> None:
    recorder = _RecordingSettings(Settings())
    node_config(recorder)  # type: ignore[arg-type]
    unread = {field.name for field in dataclasses.fields(Settings)} - recorder.read
    assert unread == {"database_url"}  # read through effective_database_url
    assert "effective_database_url" in recorder.read


def test_sections_carry_the_flat_names_values() -> None:
    config = load_config(
        {
            "chat_max_participants": 7,
            "calling_max_participants": 9,
            "media_port_min": 40000,
            "media_port_max": 40010,
            "turnserver_path": "/opt/turnserver",
            "redis_url": "redis://127.0.0.1:6379/0",
            "sms_rate_burst": 3,
        },
        environ={},
    )
    assert config.chat.max_participants == 7
    assert config.calling.max_participants == 9
    assert config.media.ports == (40000, 40010)
    assert config.turn.turnserver_path == "/opt/turnserver"
    assert config.bus.clustered and config.sms.rate_burst == 3
    assert config.storage.database_url.startswith("sqlite+aiosqlite:///")


def test_a_config_error_is_not_an_http_error() -> None:
    assert not issubclass(ConfigError, SwitchboardError)


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"tls_cert": "c.pem"}, "tls_cert is set but tls_key is not"),
        ({"tls_key": "k.pem"}, "tls_key is set but tls_cert is not"),
        ({"tls": False, "tls_cert": "c", "tls_key": "k"}, "plain HTTP, yet tls_cert is set"),
        ({"tls_reload_seconds": 0}, "tls_reload_seconds 0.0 must be above 0"),
        ({"public_url": "sb.example.com"}, "public_url 'sb.example.com' is not a base URL"),
        ({"public_url": "https://sb.example.com/api"}, "no path"),
        ({"trusted_proxies": ("10.0.0.0/33",)}, "trusted_proxies entry '10.0.0.0/33'"),
        ({"metrics_allowed_networks": ("prometheus",)}, "metrics_allowed_networks entry"),
    ],
)
def test_tls_and_proxy_settings_that_cannot_work_say_what_to_write(
    overrides: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(complaint)):
        load_settings(overrides, environ={})


def test_trusted_proxies_come_comma_separated_from_the_environment() -> None:
    settings = load_settings(
        environ={"SWITCHBOARD_TRUSTED_PROXIES": "10.0.0.0/8, ::1", "SWITCHBOARD_TLS": "false"}
    )
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1")
    assert node_config(settings).server.endpoint(8080) == "http://127.0.0.1:8080/"


def test_public_url_is_the_endpoint_and_its_port_the_public_port() -> None:
    server = node_config(load_settings({"public_url": "https://sb.example.com"}, environ={})).server
    assert server.endpoint(8080) == "https://sb.example.com/"
    assert server.public_port(8080) == 443
    server = node_config(load_settings({"public_url": "https://sb:9443/"}, environ={})).server
    assert server.public_port(8080) == 9443
