"""Which TURN server is handed out (settings → plan → URLs) and coturn's generated config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from switchboard.core.config import ConfigError, load_config
from switchboard.traversal.coturn import CoturnConfig, render
from switchboard.traversal.plan import TurnMode, TurnPlan
from switchboard.traversal.plan import plan_turn as plan_from_sections


def plan_turn(overrides: dict[str, Any]) -> TurnPlan:
    config = load_config(overrides, environ={})
    return plan_from_sections(config.turn, config.server)


def test_default_points_at_a_local_coturn_without_starting_one() -> None:
    plan = plan_turn({})
    assert plan.mode is TurnMode.UNMANAGED
    assert plan.urls() == [
        "stun:127.0.0.1:3478",
        "turn:127.0.0.1:3478?transport=udp",
        "turn:127.0.0.1:3478?transport=tcp",
    ]
    assert plan.allow_loopback_peers  # development mode


def test_supervised_uses_the_port_in_use_and_tls_when_configured() -> None:
    plan = plan_turn(
        {"turn_enabled": True, "turn_port": 0, "turn_tls_port": 5349, "turn_host": "turn.lan"}
    )
    assert plan.mode is TurnMode.SUPERVISED
    assert plan.urls(40000) == [
        "stun:turn.lan:40000",
        "turn:turn.lan:40000?transport=udp",
        "turn:turn.lan:40000?transport=tcp",
        "turns:turn.lan:5349?transport=tcp",
    ]


def test_advertised_host_for_wildcard_and_ipv6_listeners() -> None:
    wildcard = plan_turn({"turn_listen_ip": "0.0.0.0", "public_host": "sb.lan"})
    assert wildcard.urls()[0] == "stun:sb.lan:3478"
    ipv6 = plan_turn({"turn_listen_ip": "::1"})
    assert ipv6.urls()[1] == "turn:[::1]:3478?transport=udp"


def test_production_mode_refuses_loopback_peers() -> None:
    plan = plan_turn({"mode": "production"})
    assert not plan.allow_loopback_peers


def test_external_server_comes_from_config() -> None:
    urls = "stun:turn.example.com:3478, turns:turn.example.com:5349?transport=tcp"
    plan = plan_turn({"turn_urls": urls, "turn_secret": "shared"})
    assert plan.mode is TurnMode.EXTERNAL
    assert plan.configured_secret == "shared"
    assert plan.urls() == [
        "stun:turn.example.com:3478",
        "turns:turn.example.com:5349?transport=tcp",
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"turn_urls": "turn:x:3478"}, "needs turn_secret"),
        ({"turn_urls": "turn:x:3478", "turn_secret": "s", "turn_enabled": True}, "choose one"),
        ({"turn_urls": "http://x", "turn_secret": "s"}, "not a stun:"),
        ({"turn_secret": "has space"}, "printable ASCII"),
        ({"turn_port": 70000}, "between 0 and 65535"),
    ],
)
def test_bad_turn_settings_are_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan_turn(values)


def test_settings_come_from_the_environment_too() -> None:
    turn = load_config(
        {}, environ={"SWITCHBOARD_TURN_ENABLED": "true", "SWITCHBOARD_TURN_PORT": "0"}
    ).turn
    assert turn.enabled and turn.port == 0


def config(
    tmp_path: Path,
    *,
    listen_ip: str = "127.0.0.1",
    allow_loopback_peers: bool = True,
    tls_port: int = 0,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> CoturnConfig:
    return CoturnConfig(
        listen_ip,
        3478,
        "switchboard",
        "s3cret",
        tmp_path,
        allow_loopback_peers,
        tls_port,
        tls_cert,
        tls_key,
    )


def test_rendered_config_uses_turn_rest_auth(tmp_path: Path) -> None:
    lines = render(config(tmp_path)).splitlines()
    for expected in (
        "listening-ip=127.0.0.1",
        "listening-port=3478",
        "realm=switchboard",
        "use-auth-secret",
        "static-auth-secret=s3cret",
        "no-cli",
        "no-tls",
        "allow-loopback-peers",
        f"log-file={tmp_path / 'turnserver.log'}",
        f"pidfile={tmp_path / 'turnserver.pid'}",
    ):
        assert expected in lines


def test_rendered_config_variants(tmp_path: Path) -> None:
    strict = render(config(tmp_path, allow_loopback_peers=False, listen_ip="0.0.0.0"))
    assert "allow-loopback-peers" not in strict
    assert "listening-ip" not in strict  # coturn then listens on every address
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    tls = render(config(tmp_path, tls_port=5349, tls_cert=cert, tls_key=key)).splitlines()
    assert "tls-listening-port=5349" in tls and f"cert={cert}" in tls and "no-tls" not in tls
