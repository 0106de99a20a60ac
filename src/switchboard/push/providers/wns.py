"""WNS: OAuth client credentials ─▶ a raw notification POSTed to the device's channel URI.

    POST token_url grant_type=client_credentials, client_id (package SID), client_secret,
        scope=notify.windows.com ─▶ access token (cached, oauth.py)
    POST <channel URI>  Authorization: Bearer <token>, X-WNS-Type: wns/raw,
        Content-Type: application/octet-stream, X-WNS-TTL, X-WNS-Cache-Policy: cache (calls:
        no-cache, a missed call is stale)
    200 ─▶ delivered · 404 / 410 ─▶ dead channel · 401 ─▶ a new token, retried · 406
        (throttled) and 5xx ─▶ retried

The channel URI is the device's (client-supplied): the client this provider is given passes
the SSRF guard at connect time (app/push.py).
"""

from __future__ import annotations

import httpx

from switchboard.core.clock import Clock
from switchboard.push.models import Notification, Outcome, ProviderAnswer, PushKind, Registration
from switchboard.push.providers.base import classify, payload_bytes, retry_after, unreachable
from switchboard.push.providers.oauth import AccessTokenCache, TokenRequestError

SCOPE = "notify.windows.com"


class WnsProvider:
    kind = PushKind.WNS

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        client_id: str,
        client_secret: str,
        token_url: str,
        clock: Clock,
    ) -> None:
        self._client = client
        self._clock = clock
        form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": SCOPE,
        }
        self._tokens = AccessTokenCache(client, token_url, lambda: form, clock)

    async def send(self, registration: Registration, notification: Notification) -> ProviderAnswer:
        try:
            token = await self._tokens.get()
            response = await self._client.post(
                registration.token,
                content=payload_bytes(notification),
                headers={
                    "Authorization": f"Bearer {token}",
                    "X-WNS-Type": "wns/raw",
                    "Content-Type": "application/octet-stream",
                    "X-WNS-TTL": str(notification.ttl_seconds),
                    "X-WNS-Cache-Policy": "no-cache" if notification.kind.is_call else "cache",
                },
            )
        except (httpx.HTTPError, TokenRequestError) as exc:
            return unreachable(exc)
        if response.status_code == 401:
            self._tokens.invalidate()
            return ProviderAnswer(Outcome.RETRY, 401, "access token refused; a new one next")
        if response.status_code == 406:  # WNS's throttle
            wait = retry_after(response.headers.get("retry-after"), self._clock.now())
            return ProviderAnswer(Outcome.RETRY, 406, "throttled", wait)
        return classify(response, now=self._clock.now())

    async def close(self) -> None:
        await self._client.aclose()
