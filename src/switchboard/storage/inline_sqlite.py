"""A SQLite write connection driven on the event loop; only BEGIN and COMMIT leave it.

aiosqlite runs every statement on its worker thread: each one is a queue hand-off and a GIL
switch (≈ 300 µs with the server on one core), while the statement itself takes a few µs on
a WAL database whose pages are in cache. Group commit (groupcommit.py) puts many writers'
statements into one transaction, so the hand-offs, not SQLite, bounded chat sends.

This module gives SQLAlchemy's aiosqlite dialect (through ``create_async_engine(...,
async_creator=...)``) a connection with aiosqlite's coroutine API whose statements run
synchronously on the calling (event-loop) thread:

    statement ───────────────▶ sqlite3, inline (µs; no thread, no GIL hand-off)
    BEGIN IMMEDIATE, COMMIT ─▶ worker thread (may wait on another process's lock / fsync);
                               the loop serves sockets meanwhile

Trap: nobody else may use the connection while a COMMIT runs in the thread. Database keeps
it behind its write lock (``Database.batch_write``), so the next batch waits for the commit
and accumulates writers (that is the group commit). Only short transactions belong here:
a slow statement (a big DELETE) would stall the loop; those keep using ``Database.write``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

_OFF_LOOP = ("BEGIN", "COMMIT", "END")


def open_inline_connection(path: str) -> sqlite3.Connection:
    """The raw connection: WAL, synchronous=FULL (an acknowledged write survives power loss)."""
    # check_same_thread=False: COMMIT runs on a worker thread, never concurrently with the loop
    # (the write lock in Database guarantees one user at a time).
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class InlineCursor:
    """aiosqlite.Cursor's coroutine API over a stdlib cursor."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        if sql.lstrip()[:6].upper().startswith(_OFF_LOOP):
            await asyncio.to_thread(self._cursor.execute, sql, parameters or ())
        else:
            self._cursor.execute(sql, parameters or ())
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineSqliteConnection:
    """aiosqlite.Connection's coroutine API (what SQLAlchemy's dialect calls) run inline."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.sync = conn
        """The stdlib connection, for driver-level SQL on hot paths (storage/driver.py)."""
        # SQLAlchemy's aiosqlite dialect tests aiosqlite's private ``_connection`` (None once
        # closed) before commit and rollback.
        self._connection: sqlite3.Connection | None = conn

    @property
    def isolation_level(self) -> str | None:
        return self.sync.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None) -> None:
        self.sync.isolation_level = value

    def cursor(self) -> InlineCursor:
        return InlineCursor(self.sync.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        # The fsync: off the loop. Nothing else touches the connection until it returns.
        await asyncio.to_thread(self.sync.commit)

    async def rollback(self) -> None:
        self.sync.rollback()  # WAL: discards pages in memory, no I/O to wait for

    async def create_function(
        self, name: str, narg: int, func: Callable[..., Any], **kw: Any
    ) -> None:
        self.sync.create_function(name, narg, func, **kw)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        self._connection = None
        self.sync.close()


def inline_creator(path: str) -> Callable[[], Any]:
    """``async_creator`` for ``create_async_engine``: a fresh inline connection to ``path``."""

    async def create() -> InlineSqliteConnection:
        return InlineSqliteConnection(open_inline_connection(path))

    return create
