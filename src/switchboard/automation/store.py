"""Where call connections are written: the record every node can read (``GET`` answers on any
node; control requests find the owner node here), written before the HTTP answer.

The live call (its media, invitations, the app's endpoint) stays on the owner node; this is
what survives it and what the other nodes need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from switchboard.automation.models import CallConnection, CallConnectionState
from switchboard.core.identifiers import identifier_from_raw_id


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_connection_id: str
    server_call_id: str
    owner_node: str
    state: CallConnectionState
    callback_uri: str
    correlation_id: str
    targets: tuple[str, ...] = ()  # raw ids
    source: str | None = None
    source_caller_id: str | None = None
    source_display_name: str | None = None
    operation_context: str | None = None
    answered_by: str | None = None

    @classmethod
    def of(cls, call: CallConnection, owner_node: str) -> CallRecord:
        return cls(
            call_connection_id=call.call_connection_id,
            server_call_id=call.server_call_id,
            owner_node=owner_node,
            state=call.state,
            callback_uri=call.callback_uri,
            correlation_id=call.correlation_id,
            targets=tuple(t.raw_id for t in call.targets),
            source=None if call.source is None else call.source.raw_id,
            source_caller_id=call.source_caller_id,
            source_display_name=call.source_display_name,
            operation_context=call.operation_context,
            answered_by=None if call.answered_by is None else call.answered_by.raw_id,
        )

    def connection(self) -> CallConnection:
        """The call as GET shows it (no invitations or participants: those are live state)."""
        raw = identifier_from_raw_id
        return CallConnection(
            call_connection_id=self.call_connection_id,
            server_call_id=self.server_call_id,
            correlation_id=self.correlation_id,
            callback_uri=self.callback_uri,
            state=self.state,
            targets=tuple(raw(t) for t in self.targets),
            source=None if self.source is None else raw(self.source),
            source_caller_id=self.source_caller_id,
            source_display_name=self.source_display_name,
            operation_context=self.operation_context,
            answered_by=None
            if self.answered_by is None
            else identifier_from_raw_id(self.answered_by),
        )


class CallConnectionStore(Protocol):
    async def add(self, record: CallRecord, now_ms: int) -> None: ...

    async def set_state(
        self, call_connection_id: str, state: CallConnectionState, now_ms: int
    ) -> None: ...

    async def get(self, call_connection_id: str) -> CallRecord | None: ...

    async def purge_ended(self, before_ms: int) -> int:
        """Forget disconnected calls last changed before ``before_ms``; how many."""
        ...
