"""Wiring of events/ for one node (server) or one command (CLI), from its config section.

await EventsComponent.start(events config, server config, database, bus, resource_id, origin)
     ├─ SqlEventOutbox (what producers add to)
     ├─ EndpointGuard (mode + events_allowed_endpoints) ─▶ guarded httpx client
     ├─ SubscriptionService (+ EndpointValidator unless the handshake is off)
     │    └─ applies [[events.subscriptions]] from the config (server only)
     ├─ DeadLetterService
     ├─ SubscriptionInterest: subscriptions in memory, followed over the bus (server only)
     └─ EventDispatcher (server only) ─▶ WebhookSender, RetryPolicy, SqlDeliveryQueue
  ─▶ a started component: .outbox, .wants(type), .would_deliver(type, subject, data),
     .routes(authenticator, paging), .stop()

A failure while starting stops what had started; there is no half-started component.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry
from starlette.routing import BaseRoute

from switchboard.bus.base import Bus
from switchboard.core.clock import Clock
from switchboard.core.sections import EventsConfig, ServerConfig
from switchboard.events.deadletters import SqlDeadLetterStore
from switchboard.events.dispatcher import DeliveryMetrics, EventDispatcher
from switchboard.events.endpoints import EndpointGuard, EndpointPolicy
from switchboard.events.envelopes import default_topic
from switchboard.events.filters import FilterTarget
from switchboard.events.handshake import EndpointValidator
from switchboard.events.interest import SubscriptionInterest
from switchboard.events.outbox import SqlEventOutbox
from switchboard.events.queue import SqlDeliveryQueue
from switchboard.events.retry import RetryPolicy
from switchboard.events.routes import events_routes
from switchboard.events.sender import WebhookSender
from switchboard.events.service import DeadLetterService, SubscriptionService
from switchboard.events.subscriptions import SqlSubscriptionStore
from switchboard.events.transport import delivery_client
from switchboard.http.auth import Authenticator
from switchboard.http.paging import ContinuationCodec
from switchboard.storage.database import Database


def lease_seconds(timeout_seconds: float) -> float:
    """How long a claim lasts: the attempt's deadline plus as much again (at least 5 s) for the
    database round trips around it, so a live node never loses a lease mid-attempt."""
    return timeout_seconds + max(5.0, timeout_seconds)


def request_origin(server: ServerConfig) -> str:
    """What we send as ``WebHook-Request-Origin``: the host clients know us by."""
    return urlsplit(server.endpoint()).hostname or "localhost"


class EventsComponent:
    """The started parts of events/ (build it with ``await EventsComponent.start(...)``)."""

    def __init__(
        self,
        *,
        outbox: SqlEventOutbox,
        interest: SubscriptionInterest,
        subscriptions: SubscriptionService,
        dead_letters: DeadLetterService,
        topic: str,
        stack: contextlib.AsyncExitStack,
    ) -> None:
        self.outbox = outbox
        self.interest = interest
        self.subscriptions = subscriptions
        self.dead_letters = dead_letters
        self.topic = topic
        self._stack = stack

    @classmethod
    async def start(
        cls,
        config: EventsConfig,
        server: ServerConfig,
        database: Database,
        bus: Bus,
        *,
        clock: Clock,
        resource_id: str,
        origin: str,
        dispatch: bool = True,
        registry: CollectorRegistry | None = None,
    ) -> EventsComponent:
        """Build and start; ``dispatch=False`` (shell commands) delivers nothing and applies
        no configured subscriptions."""
        stack = contextlib.AsyncExitStack()  # the component's, once started
        try:
            outbox = SqlEventOutbox(bus, clock)
            interest = SubscriptionInterest(
                SqlSubscriptionStore(database), bus, refresh_seconds=config.poll_seconds
            )
            topic = config.topic or default_topic(resource_id)
            guard = EndpointGuard(EndpointPolicy.for_mode(server.mode, config.allowed_endpoints))
            timeout = config.delivery_timeout_seconds
            client = delivery_client(
                guard, timeout=timeout, connections=config.delivery_concurrency
            )
            stack.push_async_callback(client.aclose)
            validator = None
            if config.validation_handshake:
                validator = EndpointValidator(client, topic=topic, origin=origin, clock=clock)
            subscriptions = SubscriptionService(
                SqlSubscriptionStore(database),
                guard,
                validator,
                clock=clock,
                development=server.development,
                on_change=interest.changed,
            )
            dead_letters = DeadLetterService(
                SqlDeadLetterStore(database), wake_dispatchers=outbox.notify, clock=clock
            )
            if dispatch:
                await subscriptions.apply_configured(config.subscriptions)
                await interest.start()
                stack.push_async_callback(interest.stop)
                dispatcher = EventDispatcher(
                    SqlDeliveryQueue(database, topic=topic),
                    WebhookSender(client, topic=topic, clock=clock, timeout_seconds=timeout),
                    bus,
                    policy=RetryPolicy(config.retry_scale),
                    clock=clock,
                    concurrency=config.delivery_concurrency,
                    poll_seconds=config.poll_seconds,
                    lease_seconds=lease_seconds(timeout),
                    retention_seconds=config.retention_hours * 3600,
                    metrics=DeliveryMetrics(registry),
                )
                await dispatcher.start()
                stack.push_async_callback(dispatcher.stop, server.shutdown_timeout_seconds)
            return cls(
                outbox=outbox,
                interest=interest,
                subscriptions=subscriptions,
                dead_letters=dead_letters,
                topic=topic,
                stack=stack,
            )
        except BaseException:
            await stack.aclose()
            raise

    def wants(self, event_type: str) -> bool:
        """For producers: skip building events no subscription wants (see interest.py)."""
        return self.interest.wants(event_type)

    def would_deliver(
        self, event_type: str, subject: str, data: Mapping[str, Any], *, data_version: str = "1.0"
    ) -> bool:
        """Whether some subscription's type, subject and advanced filters all pass for this
        event, from memory (interest.py): e.g. does an app want IncomingCall for this callee
        (``data.to.rawId``)? The event's ``id`` is not known yet: filters on it see none."""
        return self.interest.would_deliver(
            FilterTarget(
                event_type, subject, data=data, topic=self.topic, data_version=data_version
            )
        )

    async def stop(self) -> None:
        """Deliveries in flight get the shutdown grace, then the client closes."""
        await self._stack.aclose()

    def routes(self, authenticator: Authenticator, paging: ContinuationCodec) -> list[BaseRoute]:
        return events_routes(
            self.subscriptions, self.dead_letters, authenticator, paging, topic=self.topic
        )
