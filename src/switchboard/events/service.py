"""The admin side of events: subscriptions (API, CLI, config file) and dead letters.

PUT subscription ─▶ SubscriptionSpec.parse ─▶ EndpointGuard.check_url (SSRF)
                 ─▶ validation handshake (new endpoint; unless off) ─▶ store.put
replay dead letter ─▶ store: pending again ─▶ wake the dispatchers
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence

from switchboard.core.clock import Clock
from switchboard.core.config import ConfigError, EventSubscriptionConfig
from switchboard.core.errors import (
    BadRequestError,
    DeadLetterNotFoundError,
    EventSubscriptionNotFoundError,
)
from switchboard.events.deadletters import DeadLetterCursor, DeadLetterStore
from switchboard.events.endpoints import EndpointGuard
from switchboard.events.filter_documents import parse_event_filter
from switchboard.events.handshake import EndpointValidator
from switchboard.events.models import DeadLetter, EventSubscription, Page, SubscriptionSpec
from switchboard.events.subscriptions import SubscriptionStore

log = logging.getLogger(__name__)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class SubscriptionService:
    def __init__(
        self,
        store: SubscriptionStore,
        guard: EndpointGuard,
        validator: EndpointValidator | None,  # None: the handshake is switched off
        *,
        clock: Clock,
        development: bool,
        on_change: Callable[[], Awaitable[None]] | None = None,  # e.g. SubscriptionInterest
    ) -> None:
        self._store = store
        self._guard = guard
        self._validator = validator
        self._clock = clock
        self._development = development
        self._on_change = on_change

    async def put(
        self, spec: SubscriptionSpec, *, skip_validation: bool = False
    ) -> tuple[EventSubscription, bool, str | None]:
        """Create or replace: (subscription, created, the secret if we generated it)."""
        if skip_validation and not self._development:
            raise BadRequestError(
                "skipValidation is honoured only in development mode.", target="skipValidation"
            )
        await self._guard.check_url(spec.endpoint_url)
        existing = await self._store.get(spec.name)
        secret = spec.secret or (existing.secret if existing else new_secret())
        moved = existing is None or (existing.endpoint_url, existing.schema) != (
            spec.endpoint_url,
            spec.schema,
        )
        if self._validator is not None and moved and not skip_validation:
            now_ms = self._now_ms()
            candidate = EventSubscription(
                spec.name,
                spec.endpoint_url,
                spec.included_event_types,
                spec.schema,
                secret,
                spec.max_delivery_attempts,
                spec.event_ttl_minutes,
                now_ms,
                now_ms,
                spec.event_filter,
            )
            await self._validator.validate(candidate)
        stored, created = await self._store.put(spec, new_secret=secret, now_ms=self._now_ms())
        log.info("event subscription %s %s", spec.name, "created" if created else "updated")
        await self._changed()
        return stored, created, secret if created and spec.secret is None else None

    async def get(self, name: str) -> EventSubscription:
        subscription = await self._store.get(name)
        if subscription is None:
            raise _not_found(name)
        return subscription

    async def list(self, after: str | None, limit: int) -> Page[EventSubscription, str]:
        return await self._store.list(after, limit)

    async def delete(self, name: str) -> None:
        if not await self._store.delete(name):
            raise _not_found(name)
        log.info("event subscription %s deleted", name)
        await self._changed()

    async def apply_configured(self, configured: Sequence[EventSubscriptionConfig]) -> None:
        """Create or update the config file's subscriptions (trusted: no handshake)."""
        for config in configured:
            try:
                event_filter = parse_event_filter(
                    subject_begins_with=config.subject_begins_with,
                    subject_ends_with=config.subject_ends_with,
                    subject_case_sensitive=config.is_subject_case_sensitive,
                    advanced_filters=config.advanced_filters,
                )
                spec = SubscriptionSpec.parse(
                    config.name,
                    config.endpoint_url,
                    config.included_event_types,
                    config.event_delivery_schema,
                    config.secret,
                    config.max_delivery_attempts,
                    config.event_time_to_live_in_minutes,
                    event_filter,
                )
                await self._guard.check_url(spec.endpoint_url)
            except BadRequestError as exc:
                raise ConfigError(f"events.subscriptions '{config.name}': {exc.message}") from exc
            await self._store.put(spec, new_secret=new_secret(), now_ms=self._now_ms())
        if configured:
            log.info("applied %d event subscriptions from the config", len(configured))
            await self._changed()

    async def _changed(self) -> None:
        if self._on_change is not None:
            await self._on_change()

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)


class DeadLetterService:
    def __init__(
        self,
        store: DeadLetterStore,
        *,
        wake_dispatchers: Callable[[], Awaitable[None]],
        clock: Clock,
    ) -> None:
        self._store = store
        self._wake = wake_dispatchers
        self._clock = clock

    async def list(
        self, subscription: str | None, after: DeadLetterCursor | None, limit: int
    ) -> Page[DeadLetter, DeadLetterCursor]:
        return await self._store.list(subscription, after, limit)

    async def replay(self, dead_letter_id: str) -> None:
        if not await self._store.replay(dead_letter_id, self._now_ms()):
            raise DeadLetterNotFoundError(
                f"Dead letter '{dead_letter_id}' was not found.", target="id"
            )
        await self._wake()

    async def replay_all(self, subscription: str | None) -> int:
        count = await self._store.replay_all(subscription, self._now_ms())
        if count:
            await self._wake()
        return count

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)


def _not_found(name: str) -> EventSubscriptionNotFoundError:
    return EventSubscriptionNotFoundError(
        f"Event subscription '{name}' was not found.", target="name"
    )
