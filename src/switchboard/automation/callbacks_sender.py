"""One callback POST, which URLs we POST to, and what to do after a failed one.

CallbackUrls.check(url) ─ at request time (routes answer 400) and before every POST:
    shape (absolute http/https), https only in production, and in production where it
    points (events.endpoints.EndpointGuard: public addresses unless allowed); the guarded
    client checks the addresses again at connect time (DNS rebinding)
CallbackSender.post(batch) ─▶ POST url, body = the stored JSON array,
    Authorization: Bearer <fresh JWT> ─▶ PostResult
CallbackRetryPolicy.after(result) ─▶ delivered | retry at t | drop (refused, rejected by a
    4xx other than 408/429, or older than the retry window)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import httpx

from switchboard.automation.callbacks_events import CONTENT_TYPE
from switchboard.automation.callbacks_signing import CallbackSigner
from switchboard.automation.callbacks_store import ClaimedBatch
from switchboard.core.errors import EndpointRefusedError
from switchboard.events.endpoints import EndpointGuard
from switchboard.events.retry import RetryPolicy
from switchboard.events.sender import response_excerpt

RETRIABLE_4XX = frozenset({408, 429})


class CallbackUrls:
    def __init__(self, guard: EndpointGuard, *, https_only: bool) -> None:
        self.guard = guard
        self._https_only = https_only

    def check_scheme(self, url: str, target: str = "callbackUri") -> None:
        """The cheap checks, without DNS: an absolute http(s) URL, https in production."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EndpointRefusedError(f"{target} must be an absolute https URL.", target=target)
        if self._https_only and parts.scheme != "https":
            raise EndpointRefusedError(
                f"{target} must use https in production mode.", target=target
            )

    async def check(self, url: str, target: str = "callbackUri") -> None:
        """Everything, DNS included: EndpointRefusedError (400 InvalidEndpoint) if refused."""
        self.check_scheme(url, target)
        try:
            await self.guard.check_url(url)
        except EndpointRefusedError as exc:
            raise EndpointRefusedError(exc.message, target=target) from exc


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRIED = "retried"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class PostResult:
    status: int | None  # None: no HTTP answer
    error: str = ""
    refused: bool = False  # a URL we will not call: retrying cannot help

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    next_attempt_ms: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CallbackRetryPolicy:
    """Event Grid's schedule times ``schedule.scale``, for at most ``window_ms`` after a batch
    was queued; every batch gets at least one attempt, however late."""

    schedule: RetryPolicy
    window_ms: int

    def after(
        self, result: PostResult, *, attempts_made: int, now_ms: int, enqueued_ms: int
    ) -> Decision:
        if result.delivered:
            return Decision(Verdict.DELIVERED)
        if result.refused:
            return Decision(Verdict.DROPPED, reason="refused")
        status = result.status
        if status is not None and 400 <= status < 500 and status not in RETRIABLE_4XX:
            return Decision(Verdict.DROPPED, reason=f"rejected with HTTP {status}")
        next_ms = now_ms + round(self.schedule.delay_seconds(attempts_made) * 1000)
        if next_ms > enqueued_ms + self.window_ms:
            return Decision(Verdict.DROPPED, reason="retry window exhausted")
        return Decision(Verdict.RETRIED, next_ms)


class CallbackSender:
    def __init__(
        self,
        client: httpx.AsyncClient,
        signer: CallbackSigner,
        urls: CallbackUrls,
        *,
        timeout_seconds: float,
    ) -> None:
        self._client = client
        self._signer = signer
        self._urls = urls
        self._timeout = timeout_seconds

    async def post(self, batch: ClaimedBatch) -> PostResult:
        try:
            self._urls.check_scheme(batch.url)
        except EndpointRefusedError as exc:
            return PostResult(None, exc.message, refused=True)
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Authorization": "Bearer " + self._signer.token(),
            "User-Agent": "Switchboard-CallAutomation/1.0",
        }
        try:
            async with asyncio.timeout(self._timeout):  # one deadline for the whole attempt
                request = self._client.stream(
                    "POST", batch.url, content=batch.body, headers=headers
                )
                async with request as response:
                    if 200 <= response.status_code < 300:
                        return PostResult(response.status_code)
                    return PostResult(response.status_code, await response_excerpt(response))
        except TimeoutError:
            return PostResult(None, f"no answer within {self._timeout:g} s")
        except EndpointRefusedError as exc:  # raised by the guard inside the connect step
            return PostResult(None, exc.message, refused=True)
        except httpx.HTTPError as exc:
            return PostResult(None, f"{type(exc).__name__}: {exc}")
