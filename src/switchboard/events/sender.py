"""One delivery attempt: build the body, sign it, POST it, and say how it went."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httpx

from switchboard.core.clock import Clock
from switchboard.core.errors import EndpointRefusedError
from switchboard.events.envelopes import delivery_body
from switchboard.events.models import ClaimedDelivery
from switchboard.events.signing import signature_headers

log = logging.getLogger(__name__)

_ERROR_BODY_BYTES = 512  # enough of a failed response for the dead letter; never read it all


@dataclass(frozen=True, slots=True)
class SendResult:
    delivered: bool
    status: int | None  # None: no HTTP answer (refused, unreachable, timed out)
    error: str = ""


def event_grid_headers(
    subscription_name: str, event_type: str, delivery_count: int
) -> dict[str, str]:
    """The ``aeg-*`` headers Event Grid sends with every webhook request."""
    return {
        "aeg-event-type": event_type,
        "aeg-subscription-name": subscription_name.upper(),
        "aeg-delivery-count": str(delivery_count),
        "aeg-metadata-version": "1",
    }


class WebhookSender:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        topic: str,
        clock: Clock,
        timeout_seconds: float,
    ) -> None:
        self._client = client
        self._topic = topic
        self._clock = clock
        self._timeout = timeout_seconds

    async def send(self, delivery: ClaimedDelivery) -> SendResult:
        subscription, event = delivery.subscription, delivery.event
        body, content_type = delivery_body(event, subscription.schema, self._topic)
        headers = {
            "Content-Type": content_type,
            **event_grid_headers(subscription.name, "Notification", delivery.attempts),
            "aeg-data-version": event.data_version,
            **signature_headers(subscription.secret, int(self._clock.now()), body),
        }
        try:
            # One deadline for the whole attempt (httpx's timeouts are per phase); it must stay
            # well inside the claim's lease, or another node could start the same delivery.
            async with asyncio.timeout(self._timeout):
                request = self._client.stream(
                    "POST", subscription.endpoint_url, content=body, headers=headers
                )
                async with request as response:
                    if 200 <= response.status_code < 300:
                        return SendResult(True, response.status_code)
                    excerpt = await response_excerpt(response)
                    return SendResult(False, response.status_code, excerpt)
        except TimeoutError:
            return SendResult(False, None, f"no answer within {self._timeout:g} s")
        except EndpointRefusedError as exc:
            return SendResult(False, None, exc.message)
        except httpx.HTTPError as exc:
            return SendResult(False, None, f"{type(exc).__name__}: {exc}")


async def response_excerpt(response: httpx.Response) -> str:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= _ERROR_BODY_BYTES:
            break
    text = b"".join(chunks)[:_ERROR_BODY_BYTES].decode("utf-8", "replace")
    return f"HTTP {response.status_code}: {text}".strip()
