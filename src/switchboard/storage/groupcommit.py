"""Group commit: concurrent writers share one database transaction, each in a savepoint.

    writer A ─┐                         ┌─ A's block (SAVEPOINT) ─┐
    writer B ─┼─▶ one batch (one BEGIN) ├─ B's block (SAVEPOINT) ├─▶ one COMMIT ─▶ A, B, C
    writer C ─┘      (joined while busy) └─ C's block (SAVEPOINT) ─┘      return together

A durable commit (fsync) costs far more than the statements of one chat message, so sharing
it is what lets a few thousand acknowledged writes a second through SQLite. Each writer's
block runs alone on the shared connection (blocks are serialised); a block that raises rolls
back only its savepoint. The batch commits when no writer is running or waiting, and nobody
returns before that commit: "acknowledged" still means "durable".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.storage.database import Database


class _Batch:
    def __init__(self) -> None:
        self.turn = asyncio.Lock()
        self.pending = 0
        self.size = 0
        self.closed = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.context: AbstractAsyncContextManager[AsyncConnection] | None = None
        self.connection: AsyncConnection | None = None


class GroupCommitter:
    def __init__(self, database: Database, *, max_batch: int = 256) -> None:
        self._db = database
        self._max_batch = max_batch
        self._batch: _Batch | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        batch = self._join()
        succeeded = False
        try:
            async with batch.turn:
                if batch.connection is None:
                    batch.context = self._db.write()
                    batch.connection = await batch.context.__aenter__()
                savepoint = await batch.connection.begin_nested()
                try:
                    yield batch.connection
                except BaseException:
                    await savepoint.rollback()
                    raise
                await savepoint.commit()
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
