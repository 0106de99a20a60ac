"""A barrier for webhook tests: wait until nothing more can be delivered.

A delivery row stays PENDING while an attempt is due or in flight; a delivered one is
deleted and a dead-lettered one changes state. Once every outbox event has been fanned out
and no delivery to the subscriptions is PENDING, no further request can reach a receiver:
"nothing more arrives" is then a fact to assert, not a sleep to hope on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection

import sqlalchemy as sa

from switchboard.events.tables import PENDING, event_deliveries, event_outbox
from switchboard.storage.database import Database


async def deliveries_settled(
    database: Database, subscriptions: Collection[str], *, within: float = 10.0
) -> None:
    deadline = time.monotonic() + within
    while True:
        async with database.read() as conn:
            unfanned = await conn.scalar(
                sa.select(sa.func.count()).where(event_outbox.c.fanned_out.is_(False))
            )
            pending = await conn.scalar(
                sa.select(sa.func.count()).where(
                    event_deliveries.c.subscription_name.in_(list(subscriptions)),
                    event_deliveries.c.state == PENDING,
                )
            )
        if not unfanned and not pending:
            return
        assert time.monotonic() < deadline, f"{unfanned} events to fan out, {pending} pending"
        await asyncio.sleep(0.02)
