"""The push credentials are checked when the node starts (push/setup.py): each refusal is one
ConfigError naming the setting and what to do, never showing the key file's contents."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from switchboard.app.push import guarded_poster
from switchboard.core.clock import SystemClock
from switchboard.core.config import Mode
from switchboard.core.errors import ConfigError
from switchboard.core.sections import PushConfig
from switchboard.events.endpoints import EndpointGuard, EndpointPolicy
from switchboard.push.models import PushKind
from switchboard.push.providers.poster import AiohttpPoster
from switchboard.push.setup import load_providers
from tests.push.providers import vapid_pem


def poster() -> AiohttpPoster:
    return AiohttpPoster(timeout=10)


SECRET = "-----BEGIN PRIVATE KEY-----\nTOPSECRETNOTAKEY\n-----END PRIVATE KEY-----\n"


def refusal(config: PushConfig) -> str:
    with pytest.raises(ConfigError) as refused:
        load_providers(config, httpx.AsyncClient, poster, SystemClock())
    return refused.value.message


def test_a_key_that_is_not_p256_is_refused_without_showing_it(tmp_path: Path) -> None:
    (tmp_path / "apns.p8").write_text(SECRET)
    message = refusal(
        PushConfig(
            apns_key_file=str(tmp_path / "apns.p8"),
            apns_key_id="KEY",
            apns_team_id="TEAM",
            apns_topic="com.example.app",
        )
    )
    assert "push_apns_key_file" in message and "P-256" in message
    assert "TOPSECRET" not in message


def test_apns_needs_its_key_id_team_and_topic(tmp_path: Path) -> None:
    (tmp_path / "apns.p8").write_bytes(vapid_pem())
    message = refusal(PushConfig(apns_key_file=str(tmp_path / "apns.p8")))
    assert "push_apns_key_id, push_apns_team_id, push_apns_topic" in message


def test_an_fcm_file_that_is_not_a_service_account_is_refused(tmp_path: Path) -> None:
    (tmp_path / "fcm.json").write_text(json.dumps({"project_id": "p", "private_key": SECRET}))
    message = refusal(PushConfig(fcm_service_account_file=str(tmp_path / "fcm.json")))
    assert "client_email" in message and "TOPSECRET" not in message


def test_wns_needs_its_secret_file_and_a_vapid_subject_must_be_a_url(tmp_path: Path) -> None:
    assert "push_wns_client_secret_file" in refusal(PushConfig(wns_client_id="ms-app://s-1"))
    (tmp_path / "vapid.pem").write_bytes(vapid_pem())
    bad_subject = PushConfig(
        vapid_private_key_file=str(tmp_path / "vapid.pem"), vapid_subject="admin"
    )
    assert "push_vapid_subject" in refusal(bad_subject)


def test_only_the_configured_providers_are_built(tmp_path: Path) -> None:
    (tmp_path / "vapid.pem").write_bytes(vapid_pem())
    (tmp_path / "wns").write_text("secret\n")
    config = PushConfig(
        vapid_private_key_file=str(tmp_path / "vapid.pem"),
        wns_client_id="ms-app://s-1",
        wns_client_secret_file=str(tmp_path / "wns"),
    )
    providers = load_providers(config, httpx.AsyncClient, poster, SystemClock())
    assert set(providers) == {PushKind.WEBPUSH, PushKind.WNS}
    assert not PushConfig().enabled and config.enabled


@pytest.mark.anyio
async def test_web_push_posts_pass_the_ssrf_guard_in_production() -> None:
    """Through the real aiohttp client: a literal loopback address and a name that resolves
    to one are refused before any connection (OSError: the dispatcher's retry, then TTL)."""
    poster = guarded_poster(
        EndpointGuard(EndpointPolicy.for_mode(Mode.PRODUCTION)), timeout=2, connections=1
    )
    try:
        for url in ("http://127.0.0.1:9/push/x", "http://localhost:9/push/x"):
            with pytest.raises(OSError, match="loopback"):
                await poster.post(url, b"{}", {})
    finally:
        await poster.close()
