"""Admin API wire shapes for subscriptions and dead letters: the only place with camelCase."""

from __future__ import annotations

from typing import Any

import msgspec

from switchboard.core.clock import iso8601
from switchboard.events.envelopes import envelope
from switchboard.events.filter_documents import parse_event_filter
from switchboard.events.models import DeadLetter, EventSubscription, SubscriptionSpec


class SubscriptionRequest(msgspec.Struct, rename="camel"):
    endpoint_url: str
    included_event_types: list[str] | None = None
    event_delivery_schema: str | None = None
    secret: str | None = None
    max_delivery_attempts: int | None = None
    event_time_to_live_in_minutes: int | None = None
    subject_begins_with: str | None = None
    subject_ends_with: str | None = None
    is_subject_case_sensitive: bool | None = None
    # Entries checked by filter_documents.py, so a bad one is named in Event Grid's terms.
    advanced_filters: list[dict[str, Any]] | None = None


def subscription_spec(name: str, body: SubscriptionRequest) -> SubscriptionSpec:
    event_filter = parse_event_filter(
        subject_begins_with=body.subject_begins_with,
        subject_ends_with=body.subject_ends_with,
        subject_case_sensitive=body.is_subject_case_sensitive,
        advanced_filters=body.advanced_filters,
    )
    return SubscriptionSpec.parse(
        name,
        body.endpoint_url,
        body.included_event_types,
        body.event_delivery_schema,
        body.secret,
        body.max_delivery_attempts,
        body.event_time_to_live_in_minutes,
        event_filter,
    )


def subscription_json(
    subscription: EventSubscription, generated_secret: str | None = None
) -> dict[str, Any]:
    """Never the secret, except the one the server generated, once, in the creating response."""
    event_filter = subscription.event_filter
    body: dict[str, Any] = {
        "name": subscription.name,
        "endpointUrl": subscription.endpoint_url,
        "includedEventTypes": list(subscription.included_event_types),
        "subjectBeginsWith": event_filter.subject_begins_with,
        "subjectEndsWith": event_filter.subject_ends_with,
        "isSubjectCaseSensitive": event_filter.subject_case_sensitive,
        "advancedFilters": [f.document() for f in event_filter.advanced],
        "eventDeliverySchema": subscription.schema.value,
        "maxDeliveryAttempts": subscription.max_delivery_attempts,
        "eventTimeToLiveInMinutes": subscription.event_ttl_minutes,
        "provisioningState": "Succeeded",
        "createdOn": iso8601(subscription.created_ms / 1000),
        "updatedOn": iso8601(subscription.updated_ms / 1000),
    }
    if generated_secret is not None:
        body["secret"] = generated_secret
    return body


def dead_letter_json(dead_letter: DeadLetter, topic: str) -> dict[str, Any]:
    """Named as in Event Grid's dead-letter blobs (``deadLetterReason``, ``deliveryAttempts``)."""
    last = dead_letter.last_attempt
    subscription = dead_letter.subscription
    return {
        "id": dead_letter.id,
        "subscriptionName": subscription.name,
        "deadLetterReason": dead_letter.reason.value,
        "deliveryAttempts": dead_letter.attempts,
        "lastDeliveryOutcome": last.error if last else None,
        "lastHttpStatusCode": last.status if last else None,
        "lastDeliveryAttemptTime": iso8601(last.attempted_ms / 1000) if last else None,
        "deadLetteredOn": iso8601(dead_letter.dead_lettered_ms / 1000),
        "publishTime": iso8601(dead_letter.event.created_ms / 1000),
        "event": envelope(dead_letter.event, subscription.schema, topic),
    }
