"""Driver-level SQL for hot write paths, inside a transaction SQLAlchemy opened.

SQLAlchemy Core costs tens of µs a statement (cache key, compile cache, result objects,
greenlet switch); the chat send path runs ~5 statements per message and was spending about
half its CPU there. Hot statements are written once as plain SQL with ``?`` placeholders and
run on the driver underneath the transaction's ``AsyncConnection``:

    AsyncConnection (SQLAlchemy: BEGIN, SAVEPOINT, COMMIT, everything else)
        └─ driver_sql(conn) ─▶ InlineSql   stdlib sqlite3 on the loop (storage/inline_sqlite.py)
                            ─▶ AsyncpgSql  asyncpg; ``?`` rewritten to ``$n`` once per statement
                            ─▶ CoreSql     anything else: ``exec_driver_sql`` (still correct)

Both share the connection and therefore the transaction and savepoints SQLAlchemy manages.
Trap: write portable SQL (no ``max(a, b)``/``GREATEST``; ``RETURNING`` is fine on SQLite ≥ 3.35
and PostgreSQL), and never put a ``?`` inside a string literal.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.storage.inline_sqlite import InlineSqliteConnection

Row = tuple[Any, ...]


class DriverSql(Protocol):
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


async def driver_sql(conn: AsyncConnection) -> DriverSql:
    """The fastest way to run plain SQL on ``conn``'s driver connection (same transaction)."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if isinstance(driver, InlineSqliteConnection):
        return InlineSql(driver.sync)
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "asyncpg":
        return AsyncpgSql(driver)
    return CoreSql(conn)


class InlineSql:
    """Synchronous sqlite3 calls on the event loop: µs each, no thread hop."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)


_QMARK = re.compile(r"\?")
_numbered: dict[str, str] = {}


def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, …`` (memoised: the SQL is a constant)."""
    out = _numbered.get(sql)
    if out is None:
        counter = iter(range(1, 1 + sql.count("?")))
        out = _QMARK.sub(lambda _m: f"${next(counter)}", sql)
        _numbered[sql] = out
    return out


class AsyncpgSql:
    """asyncpg directly (its own prepared-statement cache): one round trip a statement."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        record = await self._conn.fetchrow(numbered(sql), *params)
        return None if record is None else tuple(record)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [tuple(r) for r in await self._conn.fetch(numbered(sql), *params)]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        status: str = await self._conn.execute(numbered(sql), *params)
        # "UPDATE 3", "INSERT 0 1", "DELETE 0": the count is the last word.
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._conn.executemany(numbered(sql), rows)


class CoreSql:
    """Fallback through SQLAlchemy (e.g. aiosqlite on ``:memory:``): slower, same results."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = (await self._conn.exec_driver_sql(sql, tuple(params))).first()
        return None if row is None else tuple(row)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [tuple(r) for r in (await self._conn.exec_driver_sql(sql, tuple(params))).all()]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int((await self._conn.exec_driver_sql(sql, tuple(params))).rowcount or 0)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._conn.exec_driver_sql(sql, [tuple(r) for r in rows])
