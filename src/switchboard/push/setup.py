"""Push providers from the config's key files (``[server] push_*``), for the node and the CLI.

Each provider whose credentials are set is built, its files read and checked now: a bad one
stops the start with one line that names the setting, never the file's contents.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from switchboard.core.clock import Clock
from switchboard.core.errors import ConfigError
from switchboard.core.sections import PushConfig
from switchboard.push.models import PushKind
from switchboard.push.providers.apns import ApnsProvider
from switchboard.push.providers.base import PushProvider
from switchboard.push.providers.fcm import FcmProvider
from switchboard.push.providers.poster import AiohttpPoster
from switchboard.push.providers.webpush import WebPushProvider
from switchboard.push.providers.wns import WnsProvider

SEND_TIMEOUT_SECONDS = 10.0
# A client for URLs a device handed us (Web Push endpoints, WNS channels): the node passes one
# that checks every connection against the SSRF guard (events/transport.py).
GuardedClient = Callable[[], httpx.AsyncClient]
GuardedPoster = Callable[[], AiohttpPoster]  # the same guard, for Web Push (poster.py)


def load_providers(
    config: PushConfig, guarded_client: GuardedClient, guarded_poster: GuardedPoster, clock: Clock
) -> dict[PushKind, PushProvider]:
    """Every provider whose credentials are configured, checked now (ConfigError)."""
    providers: dict[PushKind, PushProvider] = {}
    if config.vapid_private_key_file:
        pem = _read(config.vapid_private_key_file, "push_vapid_private_key_file")
        _check_ec_key(pem, "push_vapid_private_key_file")
        if not config.vapid_subject.startswith(("mailto:", "https:")):
            raise ConfigError("push_vapid_subject must be a mailto: or https: URL")
        providers[PushKind.WEBPUSH] = WebPushProvider(
            guarded_poster(), pem, config.vapid_subject, clock
        )
    if config.fcm_service_account_file:
        account = _service_account(config.fcm_service_account_file)
        providers[PushKind.FCM] = FcmProvider(
            httpx.AsyncClient(timeout=SEND_TIMEOUT_SECONDS),
            account,
            base_url=config.fcm_base_url,
            clock=clock,
        )
    if config.apns_key_file:
        missing = [
            name
            for name, value in (
                ("push_apns_key_id", config.apns_key_id),
                ("push_apns_team_id", config.apns_team_id),
                ("push_apns_topic", config.apns_topic),
            )
            if not value
        ]
        if missing:
            raise ConfigError(f"push_apns_key_file is set: set {', '.join(missing)} too")
        pem = _read(config.apns_key_file, "push_apns_key_file")
        _check_ec_key(pem, "push_apns_key_file")
        providers[PushKind.APNS] = ApnsProvider(
            httpx.AsyncClient(http2=True, timeout=SEND_TIMEOUT_SECONDS),
            key_pem=pem,
            key_id=config.apns_key_id or "",
            team_id=config.apns_team_id or "",
            topic=config.apns_topic or "",
            base_url=config.apns_base_url,
            clock=clock,
        )
    if config.wns_client_id:
        if not config.wns_client_secret_file:
            raise ConfigError("push_wns_client_id is set: set push_wns_client_secret_file too")
        secret = _read(config.wns_client_secret_file, "push_wns_client_secret_file")
        providers[PushKind.WNS] = WnsProvider(
            guarded_client(),
            client_id=config.wns_client_id,
            client_secret=secret.decode().strip(),
            token_url=config.wns_token_url,
            clock=clock,
        )
    return providers


def _read(path: str, setting: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror}") from None


def _check_ec_key(pem: bytes, setting: str) -> None:
    try:
        key = load_pem_private_key(pem, password=None)
        jwt.encode({"check": 1}, key, algorithm="ES256")  # type: ignore[arg-type]
    except (ValueError, TypeError, jwt.PyJWTError):
        raise ConfigError(
            f"{setting}: not an unencrypted P-256 private key in PEM (make one with "
            "`openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt`)"
        ) from None


def _service_account(path: str) -> dict[str, Any]:
    setting = "push_fcm_service_account_file"
    try:
        account = json.loads(_read(path, setting))
    except json.JSONDecodeError:
        raise ConfigError(f"{setting}: {path} is not JSON") from None
    needed = ("project_id", "private_key", "client_email", "token_uri")
    if not isinstance(account, dict) or any(not account.get(k) for k in needed):
        raise ConfigError(f"{setting}: {path} needs {', '.join(needed)} (a service account key)")
    try:
        load_pem_private_key(str(account["private_key"]).encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{setting}: its private_key is not a PEM private key") from None
    return account
