"""MemoryCallConnectionStore: the in-process CallConnectionStore (unit tests, contract suite)."""

from __future__ import annotations

from dataclasses import replace

from switchboard.automation.models import CallConnectionState
from switchboard.automation.store import CallRecord


class MemoryCallConnectionStore:
    def __init__(self) -> None:
        self._records: dict[str, tuple[CallRecord, int]] = {}

    async def add(self, record: CallRecord, now_ms: int) -> None:
        self._records[record.call_connection_id] = (record, now_ms)

    async def set_state(
        self, call_connection_id: str, state: CallConnectionState, now_ms: int
    ) -> None:
        found = self._records.get(call_connection_id)
        if found is not None:
            self._records[call_connection_id] = (replace(found[0], state=state), now_ms)

    async def get(self, call_connection_id: str) -> CallRecord | None:
        found = self._records.get(call_connection_id)
        return None if found is None else found[0]

    async def purge_ended(self, before_ms: int) -> int:
        gone = [
            key
            for key, (record, changed) in self._records.items()
            if record.state is CallConnectionState.DISCONNECTED and changed < before_ms
        ]
        for key in gone:
            del self._records[key]
        return len(gone)
