"""APNs over HTTP/2 with token-based provider authentication.

ES256 JWT {iss: team id, iat} with kid = key id, signed with the .p8 key, reused for
    50 minutes (APNs refuses one older than an hour, and more than one a 20 minutes)
POST {base_url}/3/device/<token>   (HTTP/2 only: httpx with http2=True)
    authorization: bearer <jwt>   apns-topic: <bundle id>[.voip for calls]
    apns-push-type: voip (calls) | alert (chat) ; apns-expiration: epoch seconds
    apns-priority: 10 ; apns-collapse-id: the collapse key (≤ 64 bytes)
200 (headers only, apns-id) ─▶ delivered · 410 Unregistered, 400 BadDeviceToken ─▶ dead
403 ExpiredProviderToken ─▶ a new JWT, retried
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt

from switchboard.core.clock import Clock
from switchboard.push.models import Notification, Outcome, ProviderAnswer, PushKind, Registration
from switchboard.push.providers.base import classify, json_reason, unreachable

TOKEN_REUSE_SECONDS = 50 * 60
DEAD_REASONS = ("Unregistered", "BadDeviceToken", "DeviceTokenNotForTopic")
STALE_TOKEN_REASONS = ("ExpiredProviderToken", "InvalidProviderToken")


class ApnsProvider:
    kind = PushKind.APNS

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        key_pem: bytes,
        key_id: str,
        team_id: str,
        topic: str,
        base_url: str,
        clock: Clock,
    ) -> None:
        self._client = client  # HTTP/2
        self._key = key_pem
        self._key_id = key_id
        self._team_id = team_id
        self._topic = topic
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._jwt: tuple[float, str] | None = None

    async def send(self, registration: Registration, notification: Notification) -> ProviderAnswer:
        call = notification.kind.is_call
        topic = registration.app_id or self._topic
        headers = {
            "authorization": f"bearer {self._provider_token()}",
            "apns-topic": f"{topic}.voip" if call else topic,
            "apns-push-type": "voip" if call else "alert",
            "apns-expiration": str(int(self._clock.now()) + notification.ttl_seconds),
            "apns-priority": "10",
        }
        if notification.collapse_key:
            headers["apns-collapse-id"] = notification.collapse_key[:64]
        url = f"{self._base_url}/3/device/{registration.token}"
        try:
            response = await self._client.post(
                url, content=json.dumps(apns_body(notification)).encode(), headers=headers
            )
        except httpx.HTTPError as exc:
            return unreachable(exc)
        reason = json_reason(response, "reason")
        if response.status_code == 403 and reason in STALE_TOKEN_REASONS:
            self._jwt = None
            return ProviderAnswer(Outcome.RETRY, 403, reason)
        answer = classify(
            response,
            now=self._clock.now(),
            dead_statuses=(410,),
            dead_reasons=DEAD_REASONS,
            reason=reason,
        )
        if answer.outcome is Outcome.DELIVERED:
            return ProviderAnswer(
                answer.outcome, answer.status, response.headers.get("apns-id", "")
            )
        return answer

    async def close(self) -> None:
        await self._client.aclose()

    def _provider_token(self) -> str:
        now = self._clock.now()
        if self._jwt is not None and now - self._jwt[0] < TOKEN_REUSE_SECONDS:
            return self._jwt[1]
        token = jwt.encode(
            {"iss": self._team_id, "iat": int(now)},
            self._key,
            algorithm="ES256",
            headers={"kid": self._key_id},
        )
        self._jwt = (now, token)
        return token


def apns_body(notification: Notification) -> dict[str, Any]:
    """VoIP pushes carry the call in the payload (PushKit); others an alert too."""
    aps: dict[str, Any] = {}
    if not notification.kind.is_call:
        aps = {"alert": {"title": notification.title or "Switchboard"}, "mutable-content": 1}
    return {"aps": aps, **notification.payload()}
