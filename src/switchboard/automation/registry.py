"""CallRegistry: the call connections this node runs, the ones that ended lately, and the
store every node reads. State changes are written through here, so the record and the live
call never disagree for long; each call has one lock, so its events apply one at a time."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from switchboard.automation.models import (
    CallConnection,
    CallConnectionEndedError,
    CallConnectionNotFoundError,
    CallConnectionState,
)
from switchboard.automation.store import CallConnectionStore, CallRecord
from switchboard.core.clock import Clock

KEEP_ENDED = 1_000  # ended call connections this node still answers for from memory


class CallRegistry:
    def __init__(self, store: CallConnectionStore, clock: Clock, node_id: str) -> None:
        self.node_id = node_id
        self._store = store
        self._clock = clock
        self._calls: dict[str, CallConnection] = {}
        self._ended: OrderedDict[str, CallConnection] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def add(self, call: CallConnection) -> None:
        """Written to the store before anyone is told the call exists."""
        await self._store.add(CallRecord.of(call, self.node_id), self._now_ms())
        self._calls[call.call_connection_id] = call

    def running(self, call_connection_id: str) -> CallConnection | None:
        """A call this node runs and has not forgotten, or None."""
        return self._calls.get(call_connection_id)

    def ended(self, call: CallConnection) -> None:
        """The call is over here: forget its live state, remember it for GET a while."""
        self._calls.pop(call.call_connection_id, None)
        self._locks.pop(call.call_connection_id, None)
        self._ended[call.call_connection_id] = call
        while len(self._ended) > KEEP_ENDED:
            self._ended.popitem(last=False)

    async def set_state(self, call: CallConnection, state: CallConnectionState) -> None:
        call.state = state
        await self._store.set_state(call.call_connection_id, state, self._now_ms())

    async def get(self, call_connection_id: str) -> CallConnection:
        call = self._local(call_connection_id)
        if call is not None:
            return call
        record = await self._store.get(call_connection_id)
        if record is None:
            raise not_found(call_connection_id)
        return record.connection()

    async def owner_of(self, call_connection_id: str) -> str:
        """The node that runs the call (control requests go there)."""
        if self._local(call_connection_id) is not None:
            return self.node_id
        record = await self._store.get(call_connection_id)
        if record is None:
            raise not_found(call_connection_id)
        return record.owner_node

    def live(self, call_connection_id: str) -> CallConnection:
        """A call this node runs and that is not over (the control layer sends the others to
        their owner)."""
        call = self._local(call_connection_id)
        if call is None:
            raise not_found(call_connection_id)
        if call.is_over:
            raise CallConnectionEndedError(f"Call connection {call_connection_id} has ended.")
        return call

    def lock(self, call_connection_id: str) -> asyncio.Lock:
        return self._locks.setdefault(call_connection_id, asyncio.Lock())

    def _local(self, call_connection_id: str) -> CallConnection | None:
        return self._calls.get(call_connection_id) or self._ended.get(call_connection_id)

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)


def not_found(call_connection_id: str) -> CallConnectionNotFoundError:
    return CallConnectionNotFoundError(f"Call connection {call_connection_id} not found.")
