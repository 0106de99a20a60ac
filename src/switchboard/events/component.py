"""Wiring of events/ for one node (server) or one command (CLI), from its config section.

EventsComponent(events config, server config, database, bus)
  .outbox ──────────────── SqlEventOutbox (producers use it from construction on)
  .wants(type) ─────────── does any subscription want this type? (SubscriptionInterest)
  .start(resource_id, origin, dispatch=True)
     ├─ EndpointGuard (mode + events_allowed_endpoints) ─▶ guarded httpx client
     ├─ SubscriptionInterest: subscribed types, followed over the bus (server only)
     ├─ SubscriptionService (+ EndpointValidator unless the handshake is off)
     │    └─ applies [[events.subscriptions]] from the config
     ├─ DeadLetterService
     └─ EventDispatcher (server only) ─▶ WebhookSender, RetryPolicy, SqlDeliveryQueue
  .routes(authenticator, paging) ─ the admin API
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from prometheus_client import CollectorRegistry
from starlette.routing import BaseRoute

from switchboard.bus.base import Bus
from switchboard.core.clock import Clock
from switchboard.core.sections import EventsConfig, ServerConfig
from switchboard.events.deadletters import SqlDeadLetterStore
from switchboard.events.dispatcher import DeliveryMetrics, EventDispatcher
from switchboard.events.endpoints import EndpointGuard, EndpointPolicy
from switchboard.events.envelopes import default_topic
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
    def __init__(
        self,
        config: EventsConfig,
        server: ServerConfig,
        database: Database,
        bus: Bus,
        *,
        clock: Clock,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._config = config
        self._server = server
        self._database = database
        self._bus = bus
        self._clock = clock
        self._registry = registry
        self.outbox = SqlEventOutbox(bus, clock)
        self.interest = SubscriptionInterest(
            SqlSubscriptionStore(database), bus, refresh_seconds=config.poll_seconds
        )
        self.topic = config.topic or ""
        self._client: httpx.AsyncClient | None = None
        self._subscriptions: SubscriptionService | None = None
        self._dead_letters: DeadLetterService | None = None
        self.dispatcher: EventDispatcher | None = None

    @property
    def subscriptions(self) -> SubscriptionService:
        if self._subscriptions is None:
            raise RuntimeError("EventsComponent.start() has not run")
        return self._subscriptions

    @property
    def dead_letters(self) -> DeadLetterService:
        if self._dead_letters is None:
            raise RuntimeError("EventsComponent.start() has not run")
        return self._dead_letters

    async def start(self, *, resource_id: str, origin: str, dispatch: bool = True) -> None:
        config = self._config
        self.topic = config.topic or default_topic(resource_id)
        policy = EndpointPolicy.for_mode(self._server.mode, config.allowed_endpoints)
        guard = EndpointGuard(policy)
        timeout = config.delivery_timeout_seconds
        self._client = delivery_client(
            guard, timeout=timeout, connections=config.delivery_concurrency
        )
        validator = None
        if config.validation_handshake:
            validator = EndpointValidator(
                self._client, topic=self.topic, origin=origin, clock=self._clock
            )
        self._subscriptions = SubscriptionService(
            SqlSubscriptionStore(self._database),
            guard,
            validator,
            clock=self._clock,
            development=self._server.development,
            on_change=self.interest.changed,
        )
        self._dead_letters = DeadLetterService(
            SqlDeadLetterStore(self._database),
            wake_dispatchers=self.outbox.notify,
            clock=self._clock,
        )
        if not dispatch:
            return
        await self._subscriptions.apply_configured(config.subscriptions)
        await self.interest.start()
        sender = WebhookSender(
            self._client, topic=self.topic, clock=self._clock, timeout_seconds=timeout
        )
        self.dispatcher = EventDispatcher(
            SqlDeliveryQueue(self._database),
            sender,
            self._bus,
            policy=RetryPolicy(config.retry_scale),
            clock=self._clock,
            concurrency=config.delivery_concurrency,
            poll_seconds=config.poll_seconds,
            lease_seconds=lease_seconds(timeout),
            retention_seconds=config.retention_hours * 3600,
            metrics=DeliveryMetrics(self._registry),
        )
        await self.dispatcher.start()

    def wants(self, event_type: str) -> bool:
        """For producers: skip building events no subscription wants (see interest.py)."""
        return self.interest.wants(event_type)

    async def stop(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.stop(self._server.shutdown_timeout_seconds)
            self.dispatcher = None
        await self.interest.stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def routes(self, authenticator: Authenticator, paging: ContinuationCodec) -> list[BaseRoute]:
        return events_routes(
            self.subscriptions, self.dead_letters, authenticator, paging, topic=self.topic
        )
