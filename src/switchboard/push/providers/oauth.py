"""An OAuth access token kept until shortly before it runs out (FCM and WNS share it).

get() ─ a live token? ─▶ it · else ─▶ POST token_url (form) ─▶ {access_token, expires_in}
invalidate() after a 401 (a revoked token): the next get() asks again
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import httpx

from switchboard.core.clock import Clock

REFRESH_MARGIN_SECONDS = 300.0


class TokenRequestError(Exception):
    """The token endpoint did not hand out a token."""


class AccessTokenCache:
    def __init__(
        self,
        client: httpx.AsyncClient,
        token_url: str,
        form: Callable[[], Mapping[str, str]],
        clock: Clock,
    ) -> None:
        self._client = client
        self._token_url = token_url
        self._form = form  # made anew each time (a JWT assertion carries its own times)
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._token is not None and self._expires - REFRESH_MARGIN_SECONDS > self._clock.now():
            return self._token
        async with self._lock:  # one request for everyone waiting
            if self._token is None or self._expires - REFRESH_MARGIN_SECONDS <= self._clock.now():
                self._token, self._expires = await self._fetch()
            return self._token

    def invalidate(self) -> None:
        self._token = None

    async def _fetch(self) -> tuple[str, float]:
        response = await self._client.post(self._token_url, data=dict(self._form()))
        if response.status_code != 200:
            raise TokenRequestError(
                f"token endpoint answered {response.status_code}: {response.text[:200]}"
            )
        body = response.json()
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise TokenRequestError("token endpoint answered without an access_token")
        lifetime = float(body.get("expires_in", 3600))
        return token, self._clock.now() + lifetime
