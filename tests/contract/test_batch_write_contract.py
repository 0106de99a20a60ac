"""Database.batch_write (SQLite: statements on the loop, COMMIT on a thread) behaves like
Database.write on SQLite and PostgreSQL: durable, all-or-nothing, shared by driver-level SQL,
and group commit on top of it keeps each writer's block and the stream counter intact."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.chat.domain_events import ChatActor, ThreadDeleted, encode_data
from switchboard.storage import Database
from switchboard.storage.driver import driver_sql
from switchboard.storage.groupcommit import GroupCommitter
from switchboard.storage.inline_sqlite import InlineSqliteConnection
from switchboard.storage.secrets import resource_secrets

pytestmark = pytest.mark.anyio

Opener = Callable[[Database], AbstractAsyncContextManager[AsyncConnection]]
OPENERS: dict[str, Opener] = {
    "write": lambda db: db.write(),
    "batch_write": lambda db: db.batch_write(),
}


@pytest.fixture(params=sorted(OPENERS))
def open_write(request: pytest.FixtureRequest) -> Opener:
    return OPENERS[request.param]


def fresh_name() -> str:
    return f"bw-{uuid.uuid4().hex[:16]}"


async def stored(database: Database, names: list[str]) -> set[str]:
    async with database.read() as conn:
        rows = await conn.execute(
            sa.select(resource_secrets.c.name).where(resource_secrets.c.name.in_(names))
        )
    return {name for (name,) in rows.all()}


@pytest.fixture
async def reopened(database_url: str) -> AsyncIterator[Callable[[], Database]]:
    opened: list[Database] = []

    def reopen() -> Database:
        db = Database(database_url)
        opened.append(db)
        return db

    yield reopen
    for db in opened:
        await db.stop()


async def test_a_committed_write_survives_closing_the_database(
    database_url: str, open_write: Opener, reopened: Callable[[], Database]
) -> None:
    first = Database(database_url)
    await first.start()
    name = fresh_name()
    async with open_write(first) as conn:
        sql = await driver_sql(conn)
        await sql.execute(
            "INSERT INTO resource_secrets (name, value, updated_ms) VALUES (?, ?, ?)",
            (name, "v", 1),
        )
    await first.stop()
    second = reopened()
    await second.start()
    assert await stored(second, [name]) == {name}


async def test_a_failed_block_leaves_nothing_behind(database: Database, open_write: Opener) -> None:
    core, driver = fresh_name(), fresh_name()
    with pytest.raises(ValueError):
        async with open_write(database) as conn:
            await conn.execute(resource_secrets.insert().values(name=core, value="v", updated_ms=1))
            sql = await driver_sql(conn)
            await sql.execute(
                "INSERT INTO resource_secrets (name, value, updated_ms) VALUES (?, ?, ?)",
                (driver, "v", 1),
            )
            raise ValueError("abandon")
    assert await stored(database, [core, driver]) == set()


async def test_driver_sql_sees_the_transactions_own_uncommitted_rows(
    database: Database, open_write: Opener
) -> None:
    name = fresh_name()
    async with open_write(database) as conn:
        await conn.execute(resource_secrets.insert().values(name=name, value="v", updated_ms=7))
        sql = await driver_sql(conn)
        row = await sql.fetchone("SELECT updated_ms FROM resource_secrets WHERE name = ?", (name,))
        changed = await sql.execute(
            "UPDATE resource_secrets SET updated_ms = ? WHERE name = ?", (8, name)
        )
    assert row == (7,)
    assert changed == 1


async def test_a_writer_whose_statement_fails_rolls_back_only_its_own_block(
    database: Database,
) -> None:
    committer = GroupCommitter(database)
    taken = fresh_name()
    good = [fresh_name() for _ in range(6)]

    async def insert(name: str, *, twice: bool = False) -> None:
        async with committer.transaction() as conn:
            await conn.execute(resource_secrets.insert().values(name=name, value="v", updated_ms=1))
            await asyncio.sleep(0)
            if twice:  # a database error, not a Python one: the savepoint must undo it
                await conn.execute(
                    resource_secrets.insert().values(name=taken, value="v", updated_ms=1)
                )

    results = await asyncio.gather(
        *(insert(name) for name in good[:3]),
        insert(taken, twice=True),
        *(insert(name) for name in good[3:]),
        return_exceptions=True,
    )
    assert [r for r in results if r is not None and not isinstance(r, sa.exc.IntegrityError)] == []
    assert await stored(database, [*good, taken]) == set(good)


async def test_group_committed_stream_positions_have_no_gaps_when_writers_fail(
    database: Database,
) -> None:
    committer = GroupCommitter(database)
    allocate = (
        "UPDATE chat_stream SET last_seq = last_seq + 1 WHERE name = 'chat' RETURNING last_seq"
    )

    thread = f"19:{uuid.uuid4().hex}@contract"  # nobody's thread: no one receives these
    # A real event (a hub filling a gap decodes every row it reads), of nobody's thread.
    nobodys_event = encode_data(ThreadDeleted(thread, ChatActor("8:acs:nobody"), 0)).decode()

    async def writer(fail: bool) -> int:
        async with committer.block() as block:
            row = await block.sql.fetchone(allocate)
            assert row is not None
            # Every position gets its event, as in chat: the real stream (shared with other
            # tests on PostgreSQL) must stay gap-free for the hubs reading it.
            await block.sql.execute(
                "INSERT INTO chat_events (seq, thread_id, name, data, created_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                (int(row[0]), thread, "chatThreadDeleted", nobodys_event, 0),
            )
            await asyncio.sleep(0)
            if fail:
                raise ValueError("rolled back: its position goes to the next writer")
            return int(row[0])

    outcomes = await asyncio.gather(
        *(writer(fail=i % 4 == 1) for i in range(40)), return_exceptions=True
    )
    positions = [o for o in outcomes if isinstance(o, int)]
    assert len(positions) == 30
    assert sorted(positions) == list(range(min(positions), min(positions) + 30))


async def test_inline_sqlite_runs_statements_on_the_loop_and_commits_elsewhere(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    await database.start()
    try:
        await inline_write(database)
    finally:
        await database.stop()


async def inline_write(database: Database) -> None:
    seen: list[tuple[str, int]] = []
    async with database.batch_write() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert isinstance(raw, InlineSqliteConnection)
        connection: sqlite3.Connection = raw.sync
        connection.set_trace_callback(lambda sql: seen.append((sql, threading.get_ident())))
        sql = await driver_sql(conn)
        await sql.execute(
            "INSERT INTO resource_secrets (name, value, updated_ms) VALUES (?, ?, ?)",
            (fresh_name(), "v", 1),
        )
    connection.set_trace_callback(None)
    loop_thread = threading.get_ident()
    insert_threads = {t for s, t in seen if s.startswith("INSERT")}
    commit_threads = {t for s, t in seen if s.startswith("COMMIT")}
    assert insert_threads == {loop_thread}
    assert commit_threads and loop_thread not in commit_threads
