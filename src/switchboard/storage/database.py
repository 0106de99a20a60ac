"""The async database: engine set-up, migrations at start, read and write transactions.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` so an acknowledged
write survives a power cut. Write transactions start with ``BEGIN IMMEDIATE`` behind an
in-process lock: SQLite has one writer, and taking the lock up front avoids the
"database is locked" upgrade failure of deferred transactions. PostgreSQL uses asyncpg.

Short, hot write transactions (group commit) use ``batch_write``: on SQLite a second
connection whose statements run on the event loop and whose BEGIN/COMMIT run on a worker
thread (storage/inline_sqlite.py); both writers sit behind the same lock.

    Database.start() ── connect (or DatabaseUnavailableError: storage/unavailable.py)
        ── pg_advisory_lock (PostgreSQL) ── alembic upgrade head ── ready
    Database.start(migrate=False) (production) ── connect ── at head? ── ready
        (or DatabaseNotMigratedError: run `switchboard db upgrade`)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from switchboard.core.errors import DatabaseNotMigratedError, DataDirError
from switchboard.storage import unavailable
from switchboard.storage.inline_sqlite import inline_creator

log = logging.getLogger(__name__)

# How a shell command gets the node's database (app.open_database): started, then stopped.
DatabaseOpener = Callable[[], "AbstractAsyncContextManager[Database]"]

metadata = MetaData()
"""Every table of every domain is declared on this one MetaData."""

_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_ID = 0x5357_4254  # "SWBT": serialises migrations of nodes starting together


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self._write_lock = asyncio.Lock()
        self.write_waits = 0  # SQLite: writes that queued behind another (storage/metrics.py)
        self.batch_engine = self.engine
        if self.is_sqlite:
            _configure_sqlite(self.engine)
            database = self.engine.url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                # One connection: it is only ever used behind the write lock.
                self.batch_engine = create_async_engine(
                    url,
                    echo=echo,
                    async_creator=inline_creator(database),
                    poolclass=AsyncAdaptedQueuePool,
                    pool_size=1,
                    max_overflow=0,
                )
                _begin_as_configured(self.batch_engine)

    async def start(self, *, migrate: bool = True) -> None:
        """Connect, then migrate to the newest schema (``migrate``) or insist on it."""
        await self.connect()
        if migrate:
            await self.upgrade()
            return
        current, head = await self.revisions()
        if current != head:
            await self.stop()
            shown = "no Switchboard tables" if current is None else f"schema {current}"
            raise DatabaseNotMigratedError(
                f"the database has {shown} and this Switchboard needs {head}: back it up, run "
                "`switchboard db upgrade` (with the same --database-url), then start again"
            )

    async def connect(self) -> None:
        """The first connection alone: what fails here is the operator's to fix."""
        if self.is_sqlite:
            database = self.engine.url.database
            if database and database != ":memory:":
                directory = Path(database).parent
                try:
                    directory.mkdir(parents=True, exist_ok=True)
                except OSError as exc:  # e.g. the data dir is a file
                    raise DataDirError(
                        f"cannot use {directory} as the data directory: {exc.strerror}; "
                        "choose another --data-dir"
                    ) from None
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (OSError, TimeoutError, DBAPIError) as exc:
            raise unavailable.explain(self.url, exc) from exc

    async def revisions(self) -> tuple[str | None, str]:
        """The schema revision the database is at (None: never migrated), and the newest."""
        async with self.engine.connect() as conn:
            current = await conn.run_sync(_current_revision)
        return current, _head_revision()

    async def upgrade(self) -> None:
        """Migrate to the newest schema (serialised across nodes on PostgreSQL)."""
        async with self.engine.connect() as conn:
            if not self.is_sqlite:
                await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_ID})
            try:
                await conn.run_sync(_upgrade_to_head)
                await conn.commit()
            finally:
                if not self.is_sqlite:
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK_ID}
                    )
                    await conn.commit()

    async def stop(self) -> None:
        if self.batch_engine is not self.engine:
            await self.batch_engine.dispose()
        await self.engine.dispose()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits on success; durable when the block exits."""
        if self.is_sqlite:
            if self._write_lock.locked():
                self.write_waits += 1
            async with self._write_lock, self.engine.connect() as conn:
                await conn.execution_options(sqlite_begin="IMMEDIATE")
                async with conn.begin():
                    yield conn
        else:
            async with self.engine.begin() as conn:
                yield conn

    @asynccontextmanager
    async def batch_write(self) -> AsyncIterator[AsyncConnection]:
        """Like ``write``, for short transactions of many small statements (group commit).

        On a SQLite file the statements run on the event loop (µs each, no thread hop); only
        BEGIN and the durable COMMIT go to a worker thread. Keep long statements out.
        """
        if self.batch_engine is self.engine:
            async with self.write() as conn:
                yield conn
            return
        if self._write_lock.locked():
            self.write_waits += 1
        async with self._write_lock, self.batch_engine.connect() as conn:
            await conn.execution_options(sqlite_begin="IMMEDIATE")
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn, conn.begin():
            yield conn

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # readiness reports any failure as "not ready"
            log.warning("database ping failed", exc_info=True)
            return False
        return True


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module; we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    _begin_as_configured(engine)


def _begin_as_configured(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def _upgrade_to_head(connection: Connection) -> None:
    config = _alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise RuntimeError("no migrations found")
    return head
