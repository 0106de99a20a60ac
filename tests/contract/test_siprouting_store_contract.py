"""The SIP routing store's contract, in memory and on SQLite and PostgreSQL: the table comes
back as it was written (order, our settings, patterns that match), and a write against a
stale revision is refused (two nodes patching at once never lose a change).

The session's PostgreSQL database is shared with other modules' servers: each test leaves the
table empty, so no later server finds trunks (and binds a SIP port) it never asked for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from switchboard.siprouting.models import (
    CallerIdRule,
    SipConfiguration,
    SipTrunk,
    Transport,
    TrunkSettings,
)
from switchboard.siprouting.sql_store import SqlSipRoutingStore
from switchboard.siprouting.store import MemorySipRoutingStore, SipRoutingStore
from switchboard.siprouting.validation import route
from switchboard.storage.database import Database

pytestmark = pytest.mark.anyio

SETTINGS = TrunkSettings(
    host="127.0.0.1",
    transport=Transport.TCP,
    username="acct",
    password="s3cret",
    register=True,
    register_seconds=600,
    codecs=("PCMA",),
    caller_id=CallerIdRule.NO_PLUS,
    max_calls=7,
    options_seconds=0.0,
)
TABLE = SipConfiguration(
    (
        SipTrunk("sbc-b.example.com", 5061, True, SETTINGS),
        SipTrunk("sbc-a.example.com", 5060, False),
    ),
    (
        route("us", r"\+1[0-9]{10}", ["sbc-b.example.com", "sbc-a.example.com"], "N. America"),
        route("any", "^+[0-9]+$", []),
    ),
)


@pytest.fixture
async def store(backend_url: str | None) -> AsyncIterator[SipRoutingStore]:
    if backend_url is None:
        yield MemorySipRoutingStore()
        return
    database = Database(backend_url)
    await database.start()
    sql = SqlSipRoutingStore(database)
    try:
        yield sql
    finally:
        revision, _ = await sql.load()
        await sql.replace(revision, SipConfiguration())
        await database.stop()


async def test_the_table_comes_back_as_written(store: SipRoutingStore) -> None:
    start, _ = await store.load()
    written = await store.replace(start, TABLE)
    assert written is not None and written > start
    revision, loaded = await store.load()
    assert (revision, loaded) == (written, TABLE)
    assert [t.fqdn for t in loaded.trunks] == ["sbc-b.example.com", "sbc-a.example.com"]
    assert loaded.trunks[0].settings == SETTINGS
    assert loaded.routes[0].description == "N. America" and loaded.routes[1].description is None
    assert loaded.routes[0].pattern.fullmatch("+14255550100")
    assert loaded.routes[1].pattern.fullmatch("4930123")  # .NET: the + after ^ repeats ^


async def test_a_write_against_a_stale_revision_is_refused(store: SipRoutingStore) -> None:
    start, _ = await store.load()
    first = await store.replace(start, TABLE)
    assert first is not None
    assert await store.replace(start, SipConfiguration()) is None  # another writer came first
    assert (await store.load())[1] == TABLE
    emptied = await store.replace(first, SipConfiguration())
    assert emptied == first + 1
    assert await store.load() == (emptied, SipConfiguration())
