"""Event Grid's endpoint validation, run when a subscription is created or re-pointed.

Event Grid schema: POST a ``Microsoft.EventGrid.SubscriptionValidationEvent`` (header
``aeg-event-type: SubscriptionValidation``) whose ``data.validationCode`` the endpoint must echo
as ``{"validationResponse": code}`` with a 2xx status.

CloudEvents: ``OPTIONS`` with ``WebHook-Request-Origin: <our host>``; the endpoint must answer
2xx with ``WebHook-Allowed-Origin`` equal to that origin or ``*`` (CloudEvents webhook spec).

Both requests are signed like deliveries, so a receiver that verifies every request works.
"""

from __future__ import annotations

import json
import uuid

import httpx

from switchboard.core.clock import Clock
from switchboard.core.errors import EndpointValidationError
from switchboard.events.envelopes import EVENT_GRID_CONTENT_TYPE, validation_body
from switchboard.events.models import DeliverySchema, EventSubscription
from switchboard.events.sender import event_grid_headers
from switchboard.events.signing import signature_headers

_MAX_ANSWER_BYTES = 64 * 1024


class EndpointValidator:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        topic: str,
        origin: str,
        clock: Clock,
    ) -> None:
        self._client = client
        self._topic = topic
        self._origin = origin
        self._clock = clock

    async def validate(self, subscription: EventSubscription) -> None:
        """Return if the endpoint accepted; EndpointValidationError otherwise."""
        url = subscription.endpoint_url
        try:
            if subscription.schema is DeliverySchema.CLOUD_EVENTS:
                await self._cloud_events(subscription)
            else:
                await self._event_grid(subscription)
        except httpx.HTTPError as exc:
            raise EndpointValidationError(
                f"The validation handshake with {url} failed: {type(exc).__name__}: {exc}",
                target="endpointUrl",
            ) from exc

    async def _event_grid(self, subscription: EventSubscription) -> None:
        code = str(uuid.uuid4())
        body = validation_body(code, self._topic, self._clock.now())
        headers = {
            "Content-Type": EVENT_GRID_CONTENT_TYPE,
            **event_grid_headers(subscription.name, "SubscriptionValidation", 0),
            **signature_headers(subscription.secret, int(self._clock.now()), body),
        }
        response = await self._client.post(subscription.endpoint_url, content=body, headers=headers)
        answer: object = None
        if response.is_success and len(response.content) <= _MAX_ANSWER_BYTES:
            try:
                answer = json.loads(response.content)
            except ValueError:
                answer = None
        if not isinstance(answer, dict) or answer.get("validationResponse") != code:
            raise EndpointValidationError(
                f"{subscription.endpoint_url} did not answer Event Grid's validation event with "
                f'{{"validationResponse": <validationCode>}} (HTTP {response.status_code}).',
                target="endpointUrl",
            )

    async def _cloud_events(self, subscription: EventSubscription) -> None:
        headers = {
            "WebHook-Request-Origin": self._origin,
            **signature_headers(subscription.secret, int(self._clock.now()), b""),
        }
        response = await self._client.options(subscription.endpoint_url, headers=headers)
        allowed = [o.strip() for o in response.headers.get("WebHook-Allowed-Origin", "").split(",")]
        if not response.is_success or not ({"*", self._origin} & set(allowed)):
            raise EndpointValidationError(
                f"{subscription.endpoint_url} did not allow origin {self._origin} in the "
                f"CloudEvents validation handshake (HTTP {response.status_code}, "
                f"WebHook-Allowed-Origin {response.headers.get('WebHook-Allowed-Origin')!r}).",
                target="endpointUrl",
            )
