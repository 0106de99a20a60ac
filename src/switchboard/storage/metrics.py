"""The database's Prometheus series: its connection pool, and writers queued on SQLite's lock.

Read when scraped from what SQLAlchemy's pool and ``Database`` keep; nothing on the query path
but one integer added when a SQLite write has to wait for another.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from switchboard.storage.database import Database


def _waiting_for_a_connection(pool: Any) -> int:
    """Tasks waiting for a pooled connection now (every connection busy, overflow used up).

    SQLAlchemy does not expose it: its async queue's getters, read defensively (0 if the
    layout ever changes)."""
    try:
        return len(pool._pool._queue._getters)
    except (AttributeError, TypeError):
        return 0


class DatabaseMetrics(Collector):
    def __init__(self, database: Database) -> None:
        self._database = database

    def collect(self) -> Iterator[Metric]:
        pool: Any = self._database.engine.pool
        in_use = GaugeMetricFamily(
            "switchboard_db_pool_connections",
            "Database connections of this node's pool, by state (in_use, idle).",
            labels=("state",),
        )
        checked_out = getattr(pool, "checkedout", lambda: 0)()
        idle = getattr(pool, "checkedin", lambda: 0)()
        in_use.add_metric(("in_use",), checked_out)
        in_use.add_metric(("idle",), idle)
        yield in_use
        size = getattr(pool, "size", lambda: 0)()
        overflow = getattr(pool, "_max_overflow", 0)
        yield GaugeMetricFamily(
            "switchboard_db_pool_capacity",
            "Most connections the pool opens at once (pool size + overflow).",
            value=size + max(overflow, 0),
        )
        yield GaugeMetricFamily(
            "switchboard_db_pool_waiting",
            "Tasks waiting for a database connection now (the pool is exhausted).",
            value=_waiting_for_a_connection(pool),
        )
        yield CounterMetricFamily(
            "switchboard_db_write_lock_waits",
            "SQLite: write transactions that waited for another to finish (one writer).",
            value=self._database.write_waits,
        )
