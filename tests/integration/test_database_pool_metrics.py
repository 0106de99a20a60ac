"""The database pool's series on SQLite and PostgreSQL: connections in use, and tasks waiting
for one once the pool is exhausted (read from SQLAlchemy's pool, storage/metrics.py)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from prometheus_client import CollectorRegistry

from switchboard.storage.database import Database
from switchboard.storage.metrics import DatabaseMetrics

pytestmark = pytest.mark.anyio


async def test_pool_series_count_connections_in_use_and_tasks_waiting(database: Database) -> None:
    registry = CollectorRegistry()
    registry.register(DatabaseMetrics(database))

    def get(name: str, **labels: str) -> float:
        found = registry.get_sample_value(name, labels)
        assert found is not None, name
        return found

    capacity = int(get("switchboard_db_pool_capacity"))
    assert capacity > 0
    async with contextlib.AsyncExitStack() as held:
        for _ in range(capacity):
            await held.enter_async_context(database.engine.connect())
        assert get("switchboard_db_pool_connections", state="in_use") == capacity
        assert get("switchboard_db_pool_waiting") == 0

        async def one_more() -> None:
            async with database.engine.connect():
                pass

        waiter = asyncio.create_task(one_more())
        async with asyncio.timeout(10):
            while True:  # until the task reaches the pool's queue (a few loop turns)
                if get("switchboard_db_pool_waiting") == 1:
                    break
                await asyncio.sleep(0.01)
        assert not waiter.done()
    async with asyncio.timeout(10):
        await waiter  # a connection came back: the waiter got it
    assert get("switchboard_db_pool_waiting") == 0
    assert get("switchboard_db_pool_connections", state="in_use") == 0
