"""CallConnectionStore: the same answers in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from switchboard.automation.models import CallConnectionState
from switchboard.automation.store import CallConnectionStore, CallRecord
from switchboard.automation.store_memory import MemoryCallConnectionStore
from switchboard.automation.store_sql import SqlCallConnectionStore
from switchboard.storage import Database

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000_000


@pytest.fixture
async def store(backend_url: str | None) -> AsyncIterator[CallConnectionStore]:
    if backend_url is None:
        yield MemoryCallConnectionStore()
        return
    database = Database(backend_url)
    await database.start()
    try:
        yield SqlCallConnectionStore(database)
    finally:
        await database.stop()


def record(**changes: object) -> CallRecord:
    fields: dict[str, object] = {
        "call_connection_id": str(uuid.uuid4()),
        "server_call_id": f"server:{uuid.uuid4()}",
        "owner_node": "node-a",
        "state": CallConnectionState.CONNECTING,
        "callback_uri": "https://app.example/cb",
        "correlation_id": str(uuid.uuid4()),
    }
    fields.update(changes)
    return CallRecord(**fields)  # type: ignore[arg-type]


async def test_a_record_reads_back_whole(store: CallConnectionStore) -> None:
    full = record(
        targets=("8:acs:r_1", "4:+14255550123"),
        source="8:acs:r_app",
        source_caller_id="+18005550100",
        source_display_name="Contoso",
        operation_context="ctx",
        answered_by="8:acs:r_2",
    )
    await store.add(full, NOW)
    assert await store.get(full.call_connection_id) == full
    assert await store.get(str(uuid.uuid4())) is None


async def test_state_changes_are_kept(store: CallConnectionStore) -> None:
    made = record()
    await store.add(made, NOW)
    await store.set_state(made.call_connection_id, CallConnectionState.CONNECTED, NOW + 1)
    found = await store.get(made.call_connection_id)
    assert found is not None and found.state is CallConnectionState.CONNECTED
    assert found.connection().state is CallConnectionState.CONNECTED


async def test_purge_forgets_only_calls_that_ended_before_the_cutoff(
    store: CallConnectionStore,
) -> None:
    ended_long_ago, ended_now, live = record(), record(), record()
    for made in (ended_long_ago, ended_now, live):
        await store.add(made, NOW)
    await store.set_state(ended_long_ago.call_connection_id, CallConnectionState.DISCONNECTED, NOW)
    await store.set_state(
        ended_now.call_connection_id, CallConnectionState.DISCONNECTED, NOW + 60_000
    )
    assert await store.purge_ended(NOW + 1) >= 1
    assert await store.get(ended_long_ago.call_connection_id) is None
    assert await store.get(ended_now.call_connection_id) is not None
    assert await store.get(live.call_connection_id) is not None
