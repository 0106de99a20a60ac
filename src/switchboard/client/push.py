"""Push registration for Python apps (docs/push.md): what ACS's SDKs call
``registerPushNotification`` / ``unregisterPushNotification`` (calling) and
``startPushNotifications`` / ``stopPushNotifications`` (chat).

    registrations = PushRegistrations("https://host:8443", token, ssl="ca.pem")
    await registrations.register(device_id, PushTarget.fcm(fcm_token))
    await registrations.unregister(device_id)

The calling agent registers under its signaling device id (so the server knows when that
device is live and does not push it); a chat app uses any stable id of its install.
"""

from __future__ import annotations

import ssl as ssl_module
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from switchboard.client.tokens import TokenSource, token_of
from switchboard.push.models import PushKind


class PushRegistrationFailed(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"push registration failed: HTTP {status} {body[:300]}")
        self.status = status


@dataclass(frozen=True)
class PushTarget:
    """Where a device is pushed: a provider's token, or a Web Push subscription."""

    kind: PushKind
    token: str = ""  # FCM / APNs device token, WNS channel URI
    subscription: Mapping[str, Any] = field(default_factory=dict)  # PushSubscription.toJSON()
    app_id: str = ""  # APNs bundle id / FCM project, if not the server's configured one
    ttl_seconds: float | None = None

    @classmethod
    def web_push(cls, subscription: Mapping[str, Any]) -> PushTarget:
        return cls(PushKind.WEBPUSH, subscription=subscription)

    @classmethod
    def fcm(cls, token: str, project: str = "") -> PushTarget:
        return cls(PushKind.FCM, token, app_id=project)

    @classmethod
    def apns(cls, token: str, topic: str = "") -> PushTarget:
        return cls(PushKind.APNS, token, app_id=topic)

    @classmethod
    def wns(cls, channel_uri: str) -> PushTarget:
        return cls(PushKind.WNS, channel_uri)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": self.kind.value, "appId": self.app_id}
        if self.kind is PushKind.WEBPUSH:
            body["endpoint"] = self.subscription.get("endpoint")
            body["keys"] = dict(self.subscription.get("keys", {}))
        else:
            body["token"] = self.token
        if self.ttl_seconds is not None:
            body["ttlSeconds"] = self.ttl_seconds
        return body


class PushRegistrations:
    def __init__(
        self,
        endpoint: str,
        token: TokenSource,
        *,
        ssl: ssl_module.SSLContext | str | None = None,
    ) -> None:
        self._base = endpoint.rstrip("/")
        self._token = token
        self._verify: ssl_module.SSLContext | bool = (
            ssl_module.create_default_context(cafile=ssl) if isinstance(ssl, str) else ssl or True
        )

    async def register(self, device_id: str, target: PushTarget) -> dict[str, Any]:
        """Register (or refresh) this device; the server's view of it."""
        answer = await self._call("PUT", device_id, target.body())
        result: dict[str, Any] = answer.json()
        return result

    async def unregister(self, device_id: str) -> None:
        await self._call("DELETE", device_id, None)

    async def devices(self) -> list[dict[str, Any]]:
        """This user's registered devices, as the server sees them."""
        answer = await self._call("GET", None, None)
        found: list[dict[str, Any]] = answer.json()["value"]
        return found

    async def _call(self, method: str, device_id: str | None, body: Any) -> httpx.Response:
        url = f"{self._base}/push/registrations"
        if device_id is not None:
            url += "/" + quote(device_id, safe="")
        headers = {"Authorization": f"Bearer {await token_of(self._token)}"}
        async with httpx.AsyncClient(verify=self._verify, timeout=10) as client:
            response = await client.request(method, url, json=body, headers=headers)
        if response.status_code >= 300:
            raise PushRegistrationFailed(response.status_code, response.text)
        return response
