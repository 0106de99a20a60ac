"""Subscription storage: the ``SubscriptionStore`` protocol and its SQL implementation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from switchboard.events.filter_documents import event_filter_from_document
from switchboard.events.filters import NO_FILTER, EventFilter
from switchboard.events.models import DeliverySchema, EventSubscription, Page, SubscriptionSpec
from switchboard.events.tables import event_subscriptions
from switchboard.storage.database import Database


class SubscriptionStore(Protocol):
    async def put(
        self, spec: SubscriptionSpec, *, new_secret: str, now_ms: int
    ) -> tuple[EventSubscription, bool]:
        """Create or replace; True if created. ``new_secret`` is used when ``spec.secret`` is
        None and the subscription is new (an existing one keeps its secret)."""
        ...

    async def get(self, name: str) -> EventSubscription | None: ...

    async def list(self, after: str | None, limit: int) -> Page[EventSubscription, str]:
        """By name; ``after`` is the last name of the previous page."""
        ...

    async def delete(self, name: str) -> bool:
        """True if it existed; its pending deliveries and dead letters go with it."""
        ...


class SqlSubscriptionStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def put(
        self, spec: SubscriptionSpec, *, new_secret: str, now_ms: int
    ) -> tuple[EventSubscription, bool]:
        s = event_subscriptions
        values: dict[str, Any] = {
            "endpoint_url": spec.endpoint_url,
            "included_event_types": filter_column(spec.included_event_types, spec.event_filter),
            "delivery_schema": spec.schema.value,
            "max_delivery_attempts": spec.max_delivery_attempts,
            "event_ttl_minutes": spec.event_ttl_minutes,
            "updated_ms": now_ms,
        }
        if spec.secret is not None:
            values["secret"] = spec.secret
        insert = postgresql.insert if not self._db.is_sqlite else sqlite.insert
        # One atomic statement, so nodes applying the same config file at start do not collide.
        statement = (
            insert(s)
            .values(
                name=spec.name,
                created_ms=now_ms,
                **{"secret": new_secret, **values},
            )
            .on_conflict_do_update(index_elements=[s.c.name], set_=values)
        )
        async with self._db.write() as conn:
            existed = await conn.scalar(sa.select(s.c.name).where(s.c.name == spec.name))
            await conn.execute(statement)
            row = (await conn.execute(sa.select(s).where(s.c.name == spec.name))).one()
        return subscription_from_row(row._mapping), existed is None

    async def get(self, name: str) -> EventSubscription | None:
        s = event_subscriptions
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(s).where(s.c.name == name))).first()
        return None if row is None else subscription_from_row(row._mapping)

    async def list(self, after: str | None, limit: int) -> Page[EventSubscription, str]:
        s = event_subscriptions
        query = sa.select(s).order_by(s.c.name).limit(limit + 1)
        if after is not None:
            query = query.where(s.c.name > after)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        items = [subscription_from_row(row._mapping) for row in rows[:limit]]
        return Page(items, items[-1].name if len(rows) > limit else None)

    async def delete(self, name: str) -> bool:
        s = event_subscriptions
        async with self._db.write() as conn:
            result = await conn.execute(s.delete().where(s.c.name == name))
        return result.rowcount == 1


def subscription_from_row(m: Mapping[Any, Any]) -> EventSubscription:
    """From an ``event_subscriptions`` row (or any mapping with its column names)."""
    types, event_filter = filter_from_column(m["included_event_types"])
    return EventSubscription(
        name=m["name"],
        endpoint_url=m["endpoint_url"],
        included_event_types=types,
        schema=DeliverySchema(m["delivery_schema"]),
        secret=m["secret"],
        max_delivery_attempts=m["max_delivery_attempts"],
        event_ttl_minutes=m["event_ttl_minutes"],
        created_ms=m["created_ms"],
        updated_ms=m["updated_ms"],
        event_filter=event_filter,
    )


def filter_column(types: tuple[str, ...], event_filter: EventFilter) -> str:
    """What the ``included_event_types`` column holds: the subscription's whole Event Grid
    filter. A bare array of types when that is all (as before filters existed, so such rows
    read the same in older code), else ``{"includedEventTypes": [...], "subjectBeginsWith",
    ..., "advancedFilters": [...]}`` (see docs/decisions.md)."""
    if event_filter.is_empty:
        return json.dumps(list(types))
    return json.dumps({"includedEventTypes": list(types), **event_filter.document()})


@lru_cache(maxsize=1024)  # rows are read at every claim; the texts repeat, the results are frozen
def filter_from_column(text: str) -> tuple[tuple[str, ...], EventFilter]:
    stored = json.loads(text)
    if isinstance(stored, list):
        return tuple(stored), NO_FILTER
    return tuple(stored["includedEventTypes"]), event_filter_from_document(stored)
