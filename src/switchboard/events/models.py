"""Event delivery domain model: subscriptions, stored events, deliveries and dead letters."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from switchboard.core.errors import BadRequestError, EndpointRefusedError
from switchboard.events.filters import NO_FILTER, EventFilter, FilterTarget

T = TypeVar("T")
C = TypeVar("C")

# Event Grid's limits and defaults for a subscription's retry policy.
MAX_DELIVERY_ATTEMPTS = 30
MAX_EVENT_TTL_MINUTES = 1440
MAX_INCLUDED_EVENT_TYPES = 100
MAX_ENDPOINT_URL_CHARS = 2048
MIN_SECRET_CHARS = 8
MAX_SECRET_CHARS = 256
_NAME = re.compile(r"[A-Za-z0-9-]{3,64}")  # Event Grid's rule for event subscription names


class DeliverySchema(StrEnum):
    EVENT_GRID = "EventGridSchema"
    CLOUD_EVENTS = "CloudEventSchemaV1_0"


class DeadLetterReason(StrEnum):
    """Why a delivery stopped being retried (Event Grid's ``deadLetterReason`` values)."""

    MAX_ATTEMPTS = "MaxDeliveryAttemptsExceeded"
    TTL = "TimeToLiveExceeded"
    REJECTED = "EndpointRejectedEvent"  # 400 or 413: Event Grid does not retry those either


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """A validated request to create or replace a subscription (API, CLI or config file)."""

    name: str
    endpoint_url: str
    included_event_types: tuple[str, ...] = ()  # empty: every event type
    schema: DeliverySchema = DeliverySchema.EVENT_GRID
    secret: str | None = None  # None: keep the stored one, or generate one for a new subscription
    max_delivery_attempts: int = MAX_DELIVERY_ATTEMPTS
    event_ttl_minutes: int = MAX_EVENT_TTL_MINUTES
    event_filter: EventFilter = NO_FILTER  # subject and advanced filters (filter_documents.py)

    @classmethod
    def parse(
        cls,
        name: str,
        endpoint_url: str,
        included_event_types: Sequence[str] | None = None,
        schema: str | None = None,
        secret: str | None = None,
        max_delivery_attempts: int | None = None,
        event_ttl_minutes: int | None = None,
        event_filter: EventFilter = NO_FILTER,  # already checked: parse_event_filter
    ) -> SubscriptionSpec:
        if not _NAME.fullmatch(name):
            raise BadRequestError(
                "A subscription name has 3 to 64 letters, digits or hyphens.", target="name"
            )
        check_endpoint_url(endpoint_url)
        types = tuple(dict.fromkeys(t.strip() for t in included_event_types or ()))
        if len(types) > MAX_INCLUDED_EVENT_TYPES or any(not t or len(t) > 200 for t in types):
            raise BadRequestError(
                f"includedEventTypes takes up to {MAX_INCLUDED_EVENT_TYPES} non-empty types.",
                target="includedEventTypes",
            )
        try:
            parsed_schema = DeliverySchema(schema or DeliverySchema.EVENT_GRID)
        except ValueError:
            allowed = ", ".join(s.value for s in DeliverySchema)
            raise BadRequestError(
                f"eventDeliverySchema must be one of: {allowed}.", target="eventDeliverySchema"
            ) from None
        if secret is not None and not MIN_SECRET_CHARS <= len(secret) <= MAX_SECRET_CHARS:
            raise BadRequestError(
                f"A secret has {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters.",
                target="secret",
            )
        return cls(
            name,
            endpoint_url,
            types,
            parsed_schema,
            secret,
            _in_range(max_delivery_attempts, MAX_DELIVERY_ATTEMPTS, "maxDeliveryAttempts"),
            _in_range(event_ttl_minutes, MAX_EVENT_TTL_MINUTES, "eventTimeToLiveInMinutes"),
            event_filter,
        )


@dataclass(frozen=True, slots=True)
class EventSubscription:
    name: str
    endpoint_url: str
    included_event_types: tuple[str, ...]
    schema: DeliverySchema
    secret: str
    max_delivery_attempts: int
    event_ttl_minutes: int
    created_ms: int
    updated_ms: int
    event_filter: EventFilter = NO_FILTER

    def wants(self, event_type: str) -> bool:
        """Event Grid's ``includedEventTypes`` filter: exact, case-insensitive; empty = all."""
        if not self.included_event_types:
            return True
        folded = event_type.casefold()
        return any(t.casefold() == folded for t in self.included_event_types)

    def matches(self, event: FilterTarget) -> bool:
        """Every filter of the subscription: its types, then subject and advanced filters."""
        return self.wants(event.type) and self.event_filter.matches(event)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the outbox keeps it; ``data`` is the JSON text the producer gave."""

    seq: int
    id: str
    type: str
    subject: str
    data_json: bytes
    data_version: str
    event_time_ms: int
    created_ms: int


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """One (event, subscription) pair this node holds the lease for."""

    id: str
    claim_token: str
    attempts: int  # attempts made before this one
    enqueued_ms: int  # when it became due the first time (fan-out or replay); TTL counts from it
    event: StoredEvent
    subscription: EventSubscription


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """What happened on one failed attempt, kept on the delivery row."""

    attempted_ms: int
    status: int | None  # HTTP status; None when there was no response
    error: str


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str  # the delivery id; replay with it
    subscription: EventSubscription
    event: StoredEvent
    reason: DeadLetterReason
    attempts: int
    last_attempt: AttemptRecord | None
    dead_lettered_ms: int


@dataclass(frozen=True, slots=True)
class Page(Generic[T, C]):
    items: list[T]
    next_cursor: C | None  # where the next page starts after; None on the last page


def check_endpoint_url(url: str) -> None:
    """Shape only (absolute http(s) URL with a host); where it points is the guard's business."""
    if len(url) > MAX_ENDPOINT_URL_CHARS:
        raise EndpointRefusedError("endpointUrl is too long.", target="endpointUrl")
    refused = EndpointRefusedError(
        "endpointUrl must be an absolute http:// or https:// URL.", target="endpointUrl"
    )
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port  # .port raises ValueError for a bad port
    except ValueError:
        raise refused from None
    if parts.scheme not in ("http", "https") or not host:
        raise refused


def _in_range(value: int | None, maximum: int, name: str) -> int:
    if value is None:
        return maximum
    if not 1 <= value <= maximum:
        raise BadRequestError(f"{name} must be between 1 and {maximum}.", target=name)
    return value
