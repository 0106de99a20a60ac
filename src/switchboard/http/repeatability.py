"""Repeatable requests: a retried request with the same ``Repeatability-Request-ID`` gets the
first response again instead of running twice.

    request ──no id──────────────────────────────────────────────▶ handler ─▶ response
       │ id (+ First-Sent)
       ▼
    validate (UUID, RFC 1123, within retention) ──bad──▶ 400
       ▼
    per-key turn on this node (same-node twins queue here)
       ▼
    store.get(scope:id) ──hit──▶ replay stored + Repeatability-Result: accepted
       │ miss
       ▼
    handler ─▶ status ≥ 500 ─▶ returned as is, not stored (a retry may run it again)
       │ < 500
       ▼
    store.put ──twin on another node won──▶ the twin's response
       │ stored (durably, before the client sees anything)
       ▼
    stored response + Repeatability-Result: accepted
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import anyio
from starlette.requests import Request
from starlette.responses import Response

from switchboard.core.clock import Clock
from switchboard.core.errors import BadRequestError
from switchboard.storage.repeatability import (
    MAX_KEY_LENGTH,
    SqlRepeatabilityStore,
    StoredResponse,
)

REQUEST_ID_HEADER = "repeatability-request-id"
FIRST_SENT_HEADER = "repeatability-first-sent"
RESULT_HEADER = "Repeatability-Result"


class _KeyedLocks:
    """One lock per key while anyone holds or waits for it, so the map does not grow."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[anyio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (anyio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class Repeatability:
    def __init__(
        self,
        store: SqlRepeatabilityStore,
        clock: Clock,
        *,
        retention_seconds: float = 24 * 3600,
    ) -> None:
        self._store = store
        self._clock = clock
        self._retention = retention_seconds
        self._turns = _KeyedLocks()

    async def run(
        self, request: Request, scope: str, handler: Callable[[], Awaitable[Response]]
    ) -> Response:
        raw_id = request.headers.get(REQUEST_ID_HEADER)
        if raw_id is None:
            return await handler()
        key = _key(scope, _parse_request_id(raw_id))
        first_sent = request.headers.get(FIRST_SENT_HEADER)
        if first_sent is not None:
            # A response is kept for the retention window after it was stored, which is after
            # the first send; so within the window, "not stored" really means "never ran".
            age = self._clock.now() - _parse_first_sent(first_sent).timestamp()
            if age > self._retention:
                raise BadRequestError(
                    "The request was first sent too long ago to be repeated.",
                    code="InvalidRepeatabilityFirstSent",
                )
        # Twins on this node queue here, so the handler runs once; twins on different nodes
        # may both run it, and put() then makes them agree on the first stored response.
        async with self._turns.hold(key):
            stored = await self._store.get(key)
            if stored is None:
                response = await handler()
                if response.status_code >= 500:
                    return response
                now_ms = int(self._clock.now() * 1000)
                stored = await self._store.put(key, _capture(response), now_ms)
        return _replay(stored)

    async def prune(self) -> int:
        """Forget responses stored longer ago than the retention window."""
        cutoff = self._clock.now() - self._retention
        return await self._store.prune(int(cutoff * 1000))


def _parse_request_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw.strip()))  # canonical form: one key per id however spelt
    except ValueError as exc:
        raise BadRequestError(
            "The Repeatability-Request-ID header must be a UUID.",
            code="InvalidRepeatabilityRequestId",
        ) from exc


def _parse_first_sent(raw: str) -> datetime:
    try:
        sent = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError) as exc:
        raise BadRequestError(
            "The Repeatability-First-Sent header must be an RFC 1123 date.",
            code="InvalidRepeatabilityFirstSent",
        ) from exc
    return sent if sent.tzinfo is not None else sent.replace(tzinfo=UTC)


def _key(scope: str, request_id: str) -> str:
    key = f"{scope}:{request_id}"
    if len(key) <= MAX_KEY_LENGTH:
        return key
    # An unusually long scope (a long principal id) still needs a key that fits the column.
    return f"{hashlib.sha256(scope.encode()).hexdigest()}:{request_id}"


def _capture(response: Response) -> StoredResponse:
    body = getattr(response, "body", None)
    if not isinstance(body, bytes | memoryview):
        raise TypeError("a repeatable handler must return a buffered (non-streaming) Response")
    headers = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in response.raw_headers
        if name.lower() != b"content-length"  # recomputed on replay
    }
    return StoredResponse(response.status_code, headers, bytes(body))


def _replay(stored: StoredResponse) -> Response:
    response = Response(stored.body, stored.status, stored.headers)
    response.headers[RESULT_HEADER] = "accepted"
    return response
