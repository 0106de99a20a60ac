"""Group commit: concurrent writers share one database transaction, each in a savepoint.

    writer A ─┐                         ┌─ A's block (SAVEPOINT) ─┐
    writer B ─┼─▶ one batch (one BEGIN) ├─ B's block (SAVEPOINT) ├─▶ one COMMIT ─▶ A, B, C
    writer C ─┘      (joined while busy) └─ C's block (SAVEPOINT) ─┘      return together

A durable commit (fsync) costs far more than the statements of one chat message, so sharing
it is what lets a few thousand acknowledged writes a second through SQLite. Each writer's
block runs alone on the shared connection (blocks are serialised); a block that raises rolls
back only its savepoint. The batch commits when no writer is running or waiting, and nobody
returns before that commit: "acknowledged" still means "durable". While one batch commits,
the next one waits for the database's write lock and gathers writers.

The batch runs on ``Database.batch_write`` (SQLite: statements on the event loop, COMMIT on a
worker thread). Savepoints are plain SQL on the driver (storage/driver.py): blocks are
serialised, so one savepoint name serves them all, and SQLAlchemy's own savepoint bookkeeping
(a compile and a result object per SAVEPOINT/RELEASE) is not needed.
Trap: a block must not open SQLAlchemy savepoints (``begin_nested``) of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.storage.database import Database
from switchboard.storage.driver import DriverSql, driver_sql

_SAVEPOINT = "SAVEPOINT group_commit_block"
_RELEASE = "RELEASE SAVEPOINT group_commit_block"
_ROLLBACK = "ROLLBACK TO SAVEPOINT group_commit_block"


@dataclass(frozen=True, slots=True)
class Block:
    """One writer's turn: the batch's connection and its driver (same transaction)."""

    connection: AsyncConnection
    sql: DriverSql


class _Batch:
    def __init__(self) -> None:
        self.turn = asyncio.Lock()
        self.pending = 0
        self.size = 0
        self.closed = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.context: AbstractAsyncContextManager[AsyncConnection] | None = None
        self.block: Block | None = None


class GroupCommitter:
    def __init__(self, database: Database, *, max_batch: int = 256) -> None:
        self._db = database
        self._max_batch = max_batch
        self._batch: _Batch | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.block() as block:
            yield block.connection

    @asynccontextmanager
    async def block(self) -> AsyncIterator[Block]:
        """Like ``transaction``, with driver-level SQL for the block's hot statements."""
        batch = self._join()
        succeeded = False
        try:
            async with batch.turn:
                if batch.block is None:
                    batch.context = self._db.batch_write()
                    connection = await batch.context.__aenter__()
                    if not self._db.is_sqlite:
                        # SQLAlchemy's asyncpg adapter opens the transaction lazily, on the
                        # first statement it runs; our SAVEPOINT goes around it.
                        await connection.exec_driver_sql("SELECT 1")
                    batch.block = Block(connection, await driver_sql(connection))
                sql = batch.block.sql
                await sql.execute(_SAVEPOINT)
                try:
                    yield batch.block
                except BaseException:
                    await sql.execute(_ROLLBACK)
                    await sql.execute(_RELEASE)
                    raise
                await sql.execute(_RELEASE)
                succeeded = True
        finally:
            batch.pending -= 1
            if batch.pending == 0:
                await self._commit(batch)
        if succeeded:
            await asyncio.shield(batch.done)  # raises if the shared commit failed

    def _join(self) -> _Batch:
        batch = self._batch
        if batch is None or batch.closed or batch.size >= self._max_batch:
            batch = _Batch()
            self._batch = batch
        batch.pending += 1
        batch.size += 1
        return batch

    async def _commit(self, batch: _Batch) -> None:
        batch.closed = True
        if self._batch is batch:
            self._batch = None
        try:
            if batch.context is not None:
                await batch.context.__aexit__(None, None, None)
        except BaseException as exc:
            batch.done.set_exception(exc)
            batch.done.exception()  # mark retrieved: members that failed never await it
            raise
        else:
            batch.done.set_result(None)
