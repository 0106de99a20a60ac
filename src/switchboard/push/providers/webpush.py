"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm content encoding (RFC 8291).

    payload JSON ─webpush_crypto─▶ aes128gcm body (an ephemeral P-256 key, the
        subscription's p256dh + auth) ─▶ POST endpoint
        Authorization: vapid t=<ES256 JWT aud=endpoint origin>, k=<our public key>
        TTL, Urgency (high for calls), Topic (a collapse key: the newer replaces the older)

The endpoint is the browser's (a client-supplied URL): the poster this provider is given
passes the SSRF guard at connect time (app/push.py; aiohttp, not httpx: poster.py says why).
The VAPID header for an origin is signed once and reused until an hour before it expires.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02

from switchboard.core.clock import Clock
from switchboard.push.models import (
    Notification,
    Outcome,
    ProviderAnswer,
    PushKind,
    Registration,
)
from switchboard.push.providers.base import classify_answer, payload_bytes, unreachable
from switchboard.push.providers.poster import AiohttpPoster
from switchboard.push.providers.webpush_crypto import WebPushEncrypter

VAPID_LIFETIME_SECONDS = 12 * 3600  # RFC 8292 allows up to 24 h
VAPID_REFRESH_SECONDS = 3600  # sign anew this long before the old one runs out


class WebPushProvider:
    kind = PushKind.WEBPUSH

    def __init__(
        self, poster: AiohttpPoster, vapid_private_pem: bytes, subject: str, clock: Clock
    ) -> None:
        self._poster = poster
        self._vapid = Vapid02.from_pem(vapid_private_pem)
        self._subject = subject
        self._clock = clock
        self._headers: dict[str, tuple[float, str]] = {}  # origin → (expiry, Authorization)
        self._encrypter = WebPushEncrypter()

    @property
    def public_key(self) -> str:
        """The applicationServerKey a page subscribes with (base64url, uncompressed point)."""
        return vapid_public_key(self._vapid)

    async def send(self, registration: Registration, notification: Notification) -> ProviderAnswer:
        try:
            body = self._encrypter.encrypt(
                payload_bytes(notification), registration.p256dh, registration.auth
            )
        except ValueError as exc:  # not a P-256 point (checked at registration: never)
            return ProviderAnswer(Outcome.REJECTED, 0, f"bad subscription keys: {exc}")
        headers = {
            "Authorization": self._authorization(registration.token),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(notification.ttl_seconds),
            "Urgency": "high" if notification.kind.is_call else "normal",
        }
        if notification.collapse_key:
            headers["Topic"] = topic_of(notification.collapse_key)
        try:
            answer = await self._poster.post(registration.token, body, headers)
        except OSError as exc:
            return unreachable(exc)
        return classify_answer(
            answer.status, answer.retry_after, answer.text, now=self._clock.now()
        )

    async def close(self) -> None:
        await self._poster.close()

    def _authorization(self, endpoint: str) -> str:
        parts = urlsplit(endpoint)
        origin = f"{parts.scheme}://{parts.netloc}"
        now = self._clock.now()
        cached = self._headers.get(origin)
        if cached is not None and cached[0] - VAPID_REFRESH_SECONDS > now:
            return cached[1]
        expires = int(now) + VAPID_LIFETIME_SECONDS
        claims = {"aud": origin, "exp": expires, "sub": self._subject}
        header = str(self._vapid.sign(claims)["Authorization"])
        if len(self._headers) > 1000:
            self._headers.clear()
        self._headers[origin] = (expires, header)
        return header


def topic_of(collapse_key: str) -> str:
    """A Topic header value (≤ 32 base64url characters) standing for the collapse key."""
    digest = hashlib.sha256(collapse_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def vapid_public_key(vapid: Vapid02) -> str:
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
