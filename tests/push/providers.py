"""Each push provider wired to its fake (tests/push/fakes.py): what the contract suite, the
dispatcher tests and the benchmark build on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from switchboard.core.clock import Clock, SystemClock
from switchboard.push.models import PushKind, Registration
from switchboard.push.providers.apns import ApnsProvider
from switchboard.push.providers.base import PushProvider
from switchboard.push.providers.fcm import FcmProvider
from switchboard.push.providers.poster import AiohttpPoster
from switchboard.push.providers.webpush import WebPushProvider
from switchboard.push.providers.wns import WnsProvider
from tests.push.fakes import (
    ApnsService,
    FakeService,
    FcmService,
    WebPushService,
    WnsService,
    channel_id,
)

KINDS = [kind.value for kind in PushKind]


def vapid_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def push_server_env(directory: Path) -> dict[str, str]:
    """The environment of a server that sends Web Push (a VAPID key made in ``directory``)."""
    key = directory / "vapid.pem"
    key.write_bytes(vapid_pem())
    return {
        "SWITCHBOARD_PUSH_VAPID_PRIVATE_KEY_FILE": str(key),
        "SWITCHBOARD_PUSH_VAPID_SUBJECT": "mailto:ops@example.com",
    }


@dataclass
class Wired:
    """A provider, its fake, and how to address a device at that fake."""

    kind: PushKind
    provider: PushProvider
    service: FakeService

    def device(self, user: str = "8:acs:r_user", device_id: str | None = None) -> Registration:
        """A new device registered at the fake (Registration.token as the provider needs it)."""
        device_id = device_id or uuid.uuid4().hex
        base = Registration(user, device_id, self.kind, "", created_ms=0, expires_ms=2**62)
        if isinstance(self.service, WebPushService):
            sub = self.service.subscribe()
            return _with(base, token=sub.endpoint, p256dh=sub.p256dh, auth=sub.auth)
        if isinstance(self.service, WnsService):
            return _with(base, token=self.service.channel())
        return _with(base, token=uuid.uuid4().hex)

    def fake_token(self, registration: Registration) -> str:
        """The device as the fake records it."""
        if self.kind in (PushKind.WEBPUSH, PushKind.WNS):
            return channel_id(registration.token)
        return registration.token


def _with(base: Registration, *, token: str, p256dh: str = "", auth: str = "") -> Registration:
    return replace(base, token=token, p256dh=p256dh, auth=auth)


@asynccontextmanager
async def wired(kind: PushKind, clock: Clock | None = None) -> AsyncIterator[Wired]:
    clock = clock or SystemClock()
    service: FakeService
    provider: PushProvider
    if kind is PushKind.WEBPUSH:
        service = await WebPushService().start()
        provider = WebPushProvider(
            AiohttpPoster(timeout=10), vapid_pem(), "mailto:ops@example.com", clock
        )
    elif kind is PushKind.FCM:
        fcm = service = await FcmService().start()
        provider = FcmProvider(
            httpx.AsyncClient(timeout=10),
            fcm.service_account(),
            base_url=fcm.base_url,
            clock=clock,
        )
    elif kind is PushKind.APNS:
        apns = service = await ApnsService().start()
        provider = ApnsProvider(
            httpx.AsyncClient(http1=False, http2=True, timeout=10),
            key_pem=apns.key_pem(),
            key_id=apns.key_id,
            team_id=apns.team_id,
            topic=apns.topic,
            base_url=apns.base_url,
            clock=clock,
        )
    else:
        wns = service = await WnsService().start()
        provider = WnsProvider(
            httpx.AsyncClient(timeout=10),
            client_id=wns.client_id,
            client_secret=wns.client_secret,
            token_url=wns.token_url,
            clock=clock,
        )
    try:
        yield Wired(kind, provider, service)
    finally:
        await provider.close()
        await service.stop()
