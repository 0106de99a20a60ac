"""Call Automation's ports over the node's other domains: caller ids from numbers, callback
URIs through events' endpoint guard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import httpx

from switchboard.automation.callbacks import AutomationCallbacks
from switchboard.automation.callbacks_sender import CallbackUrls
from switchboard.automation.event_schemas import callback_event
from switchboard.automation.models import InvalidCallbackUriError
from switchboard.automation.ports import CallbackData
from switchboard.core.errors import EndpointRefusedError
from switchboard.core.events import IntegrationEvent
from switchboard.events.outbox import Outbox
from switchboard.media.endpoint.renderer import FileFetchError
from switchboard.numbers.models import OwnedNumber
from switchboard.storage.database import Database


class OwnedNumbers(Protocol):
    async def owned_number(self, phone_number: str) -> OwnedNumber | None: ...


class NumbersCallerIds:
    """A caller id must be a purchased number with outbound calling (ACS's rule)."""

    def __init__(self, numbers: OwnedNumbers) -> None:
        self._numbers = numbers

    async def may_call_from(self, phone_number: str) -> bool:
        owned = await self._numbers.owned_number(phone_number)
        return owned is not None and owned.calling.allows_outbound


class OutboxPublisher:
    """IncomingCall events into the events outbox, in their own transaction."""

    def __init__(self, database: Database, outbox: Outbox) -> None:
        self._database = database
        self._outbox = outbox

    async def publish(self, event: IntegrationEvent) -> None:
        async with self._database.write() as conn:
            await self._outbox.add(conn, [event])
        await self._outbox.notify()


MAX_AUDIO_FILE_BYTES = 20 * 1024 * 1024


class GuardedFileFetcher:
    """Audio files for FileSource: GET through the SSRF-guarded client (no redirects, no
    proxies), 200 only, at most ``max_bytes`` read."""

    def __init__(self, client: httpx.AsyncClient, *, max_bytes: int = MAX_AUDIO_FILE_BYTES):
        self._client = client
        self._max_bytes = max_bytes

    async def fetch(self, uri: str) -> bytes:
        try:
            async with self._client.stream("GET", uri) as response:
                if response.status_code != 200:
                    raise FileFetchError(f"{uri} answered {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise FileFetchError(f"{uri} is larger than {self._max_bytes} bytes")
                return bytes(body)
        except (httpx.HTTPError, EndpointRefusedError) as error:
            raise FileFetchError(f"{uri}: {error}") from None


class CallbackUrlGuard:
    """The service's URL check (callback URIs and audio files) over the callbacks' own: https
    only in production, and the SSRF guard on where the host points."""

    def __init__(self, urls: CallbackUrls) -> None:
        self._urls = urls

    async def check_callback_uri(self, url: str) -> None:
        try:
            await self._urls.check(url)
        except EndpointRefusedError as error:
            raise InvalidCallbackUriError(
                f"The field CallbackUri is invalid: {error.message}", target="callbackUri"
            ) from None


class QueuedCallbacks:
    """The service's callbacks into the durable queue (AutomationCallbacks)."""

    def __init__(self, callbacks: AutomationCallbacks) -> None:
        self._callbacks = callbacks

    async def enqueue(
        self, call_connection_id: str, url: str, events: Sequence[CallbackData]
    ) -> None:
        await self._callbacks.enqueue(
            call_connection_id, url, [callback_event(event) for event in events]
        )
