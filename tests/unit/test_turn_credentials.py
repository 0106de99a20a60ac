"""TURN REST credential math and RelayService rules, with a fake clock."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess

import pytest

from switchboard.core.clock import FakeClock
from switchboard.core.errors import BadRequestError
from switchboard.traversal.credentials import issue, turn_password, turn_username
from switchboard.traversal.service import (
    MAX_TTL_SECONDS,
    RelayService,
    RouteType,
    credential_lifetime,
    parse_route_type,
)

USER = "8:acs:00000000-0000-0000-0000-0000000000aa_00000000-0000-0000-0000-000000000001"
URLS = ["stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=udp"]


def test_password_matches_rfc_2202_hmac_sha1_vector() -> None:
    # RFC 2202 test case 2: HMAC-SHA1(key="Jefe", "what do ya want for nothing?").
    expected = base64.b64encode(bytes.fromhex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"))
    assert turn_password("Jefe", "what do ya want for nothing?") == expected.decode()


@pytest.mark.skipif(
    shutil.which("openssl") is None and os.environ.get("CI") != "true",
    reason="needs the openssl command (under CI its absence fails)",
)
def test_password_matches_openssl() -> None:
    username = turn_username(1_800_000_000, USER)
    digest = subprocess.run(
        ["openssl", "dgst", "-sha1", "-hmac", "s3cret", "-binary"],
        input=username.encode(),
        capture_output=True,
        check=True,
    ).stdout
    assert turn_password("s3cret", username) == base64.b64encode(digest).decode()


def test_username_is_expiry_then_user_or_anonymous() -> None:
    assert turn_username(1_800_000_000, USER) == f"1800000000:{USER}"
    assert turn_username(1_800_000_000, None) == "1800000000:anonymous"
    credential = issue("k", None, 5)
    assert (credential.username, credential.expires_at) == ("5:anonymous", 5)
    assert credential.password == turn_password("k", "5:anonymous")


def test_lifetime_defaults_and_clamps() -> None:
    assert credential_lifetime(None) == MAX_TTL_SECONDS == 172_800
    assert credential_lifetime(600) == 600
    assert credential_lifetime(0) == 0
    assert credential_lifetime(MAX_TTL_SECONDS + 1) == MAX_TTL_SECONDS
    with pytest.raises(BadRequestError):
        credential_lifetime(-1)


def test_route_types() -> None:
    assert parse_route_type(None) is None
    assert parse_route_type("Nearest") is RouteType.NEAREST
    with pytest.raises(BadRequestError):
        parse_route_type("fastest")


def test_service_issues_from_the_clock() -> None:
    clock = FakeClock(1_800_000_000.7)
    service = RelayService("secret", URLS, clock)
    config = service.issue(USER, RouteType.ANY, 600)
    assert config.expires_at == 1_800_000_600
    [server] = config.ice_servers
    assert server.route_type is RouteType.ANY
    assert server.urls == tuple(URLS)
    assert server.credential.username == f"1800000600:{USER}"
    assert server.credential.password == turn_password("secret", f"1800000600:{USER}")
    clock.advance(10)
    later = service.issue(USER, RouteType.ANY, 600)
    assert later.ice_servers[0].credential.password != server.credential.password


def test_service_without_route_type_lists_both() -> None:
    config = RelayService("secret", URLS, FakeClock()).issue()
    assert [s.route_type for s in config.ice_servers] == [RouteType.ANY, RouteType.NEAREST]
    assert config.ice_servers[0].credential == config.ice_servers[1].credential


@pytest.mark.parametrize("user", ["4:+14255550123", "someone", "8:acs:" + "x" * 300])
def test_service_refuses_what_is_not_an_acs_user(user: str) -> None:
    with pytest.raises(BadRequestError):
        RelayService("secret", URLS, FakeClock()).issue(user)


def test_service_needs_a_secret() -> None:
    with pytest.raises(ValueError):
        RelayService("", URLS, FakeClock())
