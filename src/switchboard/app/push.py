"""Push, as the composition root builds it: providers from the config's key files, the
service and its dispatcher, and what ties push to identity, calling and chat.

    [server] push_* ─▶ load_providers: each provider whose credentials are set (its files
        read and checked now: a bad one stops the start with one line, never its contents)
    SqlRegistrationStore + SqlPushOutbox ─▶ PushService ─▶ PushDispatcher (every node)
    bus "identity.changed" ─▶ a deleted user's registrations are forgotten
    calling: CallPushRinger (push_ringer.py) · chat: ChatPushes (push_ringer.py)
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from switchboard.bus.base import Bus, Subscription
from switchboard.core.clock import Clock
from switchboard.core.config import ConfigError, NodeConfig
from switchboard.core.sections import PushConfig
from switchboard.core.tasks import TaskScope
from switchboard.events.endpoints import EndpointGuard, EndpointPolicy
from switchboard.events.transport import delivery_client
from switchboard.identity.service import IDENTITY_CHANGED, IdentityService
from switchboard.push.dispatcher import DispatchSettings, PushDispatcher
from switchboard.push.models import PushKind
from switchboard.push.providers.apns import ApnsProvider
from switchboard.push.providers.base import PushProvider
from switchboard.push.providers.fcm import FcmProvider
from switchboard.push.providers.webpush import WebPushProvider
from switchboard.push.providers.wns import WnsProvider
from switchboard.push.service import PushService, PushSettings
from switchboard.push.store_sql import SqlPushOutbox, SqlRegistrationStore
from switchboard.storage.database import Database

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 10.0


@dataclass
class PushParts:
    service: PushService
    dispatcher: PushDispatcher
    providers: Mapping[PushKind, PushProvider]
    vapid_public_key: str | None  # the applicationServerKey pages subscribe with


async def start_push(
    stack: contextlib.AsyncExitStack,
    config: NodeConfig,
    *,
    database: Database,
    bus: Bus,
    identity: IdentityService,
    clock: Clock,
) -> PushParts:
    policy = EndpointPolicy.for_mode(config.server.mode, config.push.allowed_endpoints)
    guard = EndpointGuard(policy)
    providers = load_providers(config.push, guard, clock)
    for provider in providers.values():
        stack.push_async_callback(provider.close)
    registrations = SqlRegistrationStore(database)
    outbox = SqlPushOutbox(database)
    service = PushService(
        registrations,
        outbox,
        kinds=providers.keys(),
        clock=clock,
        check_url=guard.check_url,
        settings=PushSettings(registration_ttl_seconds=config.push.registration_ttl_hours * 3600),
    )
    dispatcher = PushDispatcher(
        outbox,
        registrations,
        providers,
        identity,
        clock=clock,
        settings=DispatchSettings(
            poll_seconds=config.push.poll_seconds,
            lease_seconds=config.push.lease_seconds,
            max_backoff_seconds=config.push.max_backoff_seconds,
        ),
    )
    await dispatcher.start()
    stack.push_async_callback(dispatcher.stop)
    service.wake = dispatcher.wake
    forgetting = TaskScope("push: deleted users")
    await forgetting.start()
    stack.push_async_callback(forgetting.stop)
    changes = await bus.subscribe(IDENTITY_CHANGED)
    stack.push_async_callback(changes.close)
    forgetting.spawn(_forget_deleted(changes, identity, service), name="push: deleted users")
    web = providers.get(PushKind.WEBPUSH)
    public_key = web.public_key if isinstance(web, WebPushProvider) else None
    if providers:
        log.info("push notifications through %s", ", ".join(k.value for k in providers))
    return PushParts(service, dispatcher, providers, public_key)


async def _forget_deleted(
    changes: Subscription, identity: IdentityService, push: PushService
) -> None:
    async for raw in changes:
        user_id = raw.decode()
        try:
            if not await identity.is_live(user_id):
                await push.remove_user(user_id)
        except Exception:  # the dispatcher checks again before each push
            log.exception("forgetting the push registrations of a deleted user failed")


def load_providers(
    config: PushConfig, guard: EndpointGuard, clock: Clock
) -> dict[PushKind, PushProvider]:
    """Every provider whose credentials are configured, checked now (ConfigError)."""
    providers: dict[PushKind, PushProvider] = {}
    if config.vapid_private_key_file:
        pem = _read(config.vapid_private_key_file, "push_vapid_private_key_file")
        _check_ec_key(pem, "push_vapid_private_key_file")
        if not config.vapid_subject.startswith(("mailto:", "https:")):
            raise ConfigError("push_vapid_subject must be a mailto: or https: URL")
        client = delivery_client(guard, timeout=SEND_TIMEOUT_SECONDS, connections=100)
        providers[PushKind.WEBPUSH] = WebPushProvider(client, pem, config.vapid_subject, clock)
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
        client = delivery_client(guard, timeout=SEND_TIMEOUT_SECONDS, connections=100)
        providers[PushKind.WNS] = WnsProvider(
            client,
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
