"""PushProvider: one push service (Web Push, FCM, APNs, WNS) as the outbox's worker sees it.

A provider turns (registration, notification) into one HTTP request and the service's answer
into a ``ProviderAnswer``: DELIVERED, RETRY (with the service's Retry-After when it gave one),
DEAD_TOKEN (the device is gone: its registration is forgotten) or REJECTED (never again).
Retrying, backoff and forgetting dead devices are the dispatcher's (dispatcher.py), the same
for every provider. A provider never raises for an answer or a network failure.
"""

from __future__ import annotations

import email.utils
import importlib.util
import json
import sys
from collections.abc import Collection, Mapping
from typing import Protocol

import httpx

from switchboard.push.models import Notification, Outcome, ProviderAnswer, PushKind, Registration


def skip_missing_sniffio() -> None:
    """httpcore asks ``import sniffio`` on every lock and event it sets up (two or more per
    request) and falls back to asyncio when it is missing. Without sniffio installed (anyio 4
    dropped it), each ask is a failing import: a search of every ``sys.path`` entry, the
    largest cost of a push after the encryption (bench/push.py's profile). A ``None`` in
    ``sys.modules`` makes that import fail at once; nothing else changes, since the module is
    not there to be imported."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


skip_missing_sniffio()

# Statuses every push service uses for "this device no longer exists".
DEAD_STATUSES = frozenset({404, 410})
MAX_DETAIL = 300  # characters of a service's answer kept for logs and the CLI


class PushProvider(Protocol):
    kind: PushKind

    async def send(self, registration: Registration, notification: Notification) -> ProviderAnswer:
        """Hand one notification to the service; never raises for its answer."""
        ...

    async def close(self) -> None: ...


def classify(
    response: httpx.Response,
    *,
    now: float,
    dead_statuses: Collection[int] = DEAD_STATUSES,
    dead_reasons: Collection[str] = (),
    reason: str = "",
) -> ProviderAnswer:
    """The common reading of a push service's answer."""
    return classify_answer(
        response.status_code,
        response.headers.get("retry-after"),
        reason or response.text,
        now=now,
        dead_statuses=dead_statuses,
        dead_reasons=dead_reasons,
        reason=reason,
    )


def classify_answer(
    status: int,
    retry_after_header: str | None,
    text: str,
    *,
    now: float,
    dead_statuses: Collection[int] = DEAD_STATUSES,
    dead_reasons: Collection[str] = (),
    reason: str = "",
) -> ProviderAnswer:
    """``classify`` from the answer's parts (a client other than httpx)."""
    detail = text[:MAX_DETAIL]
    if 200 <= status < 300:
        return ProviderAnswer(Outcome.DELIVERED, status, detail)
    if status in dead_statuses or (reason and reason in dead_reasons):
        return ProviderAnswer(Outcome.DEAD_TOKEN, status, detail)
    if status == 429 or status >= 500:
        wait = retry_after(retry_after_header, now)
        return ProviderAnswer(Outcome.RETRY, status, detail, wait)
    return ProviderAnswer(Outcome.REJECTED, status, detail)


def unreachable(exc: Exception) -> ProviderAnswer:
    """A connection refused, reset or timed out: the service may be back later."""
    return ProviderAnswer(Outcome.RETRY, 0, f"{type(exc).__name__}: {exc}"[:MAX_DETAIL])


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if it has one."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def json_reason(response: httpx.Response, *path: str) -> str:
    """A reason string inside a JSON error body (APNs ``reason``, FCM ``error.status``)."""
    try:
        value: object = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    for key in path:
        if not isinstance(value, Mapping):
            return ""
        value = value.get(key)
    return value if isinstance(value, str) else ""


def payload_bytes(notification: Notification) -> bytes:
    return json.dumps(notification.payload(), separators=(",", ":")).encode()
