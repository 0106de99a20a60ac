"""SqlCallConnectionStore: call connections on SQLite and PostgreSQL (migration 0011).

The record's fields beyond id, server call, owner and state are one JSON document: they are
written once and only read back whole.
"""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from switchboard.automation.models import CallConnectionState
from switchboard.automation.store import CallRecord
from switchboard.storage.database import Database, metadata

automation_calls = sa.Table(
    "automation_call_connections",
    metadata,
    sa.Column("call_connection_id", sa.String(64), primary_key=True),
    sa.Column("server_call_id", sa.String(200), nullable=False),
    sa.Column("owner_node", sa.String(100), nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("properties", sa.Text, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_automation_calls_server_call", "server_call_id"),
    sa.Index("ix_automation_calls_state_updated", "state", "updated_ms"),
)


class _Properties(msgspec.Struct, frozen=True):
    callback_uri: str
    correlation_id: str
    targets: tuple[str, ...] = ()
    source: str | None = None
    source_caller_id: str | None = None
    source_display_name: str | None = None
    operation_context: str | None = None
    answered_by: str | None = None


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_Properties).decode


class SqlCallConnectionStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, record: CallRecord, now_ms: int) -> None:
        properties = _Properties(
            callback_uri=record.callback_uri,
            correlation_id=record.correlation_id,
            targets=record.targets,
            source=record.source,
            source_caller_id=record.source_caller_id,
            source_display_name=record.source_display_name,
            operation_context=record.operation_context,
            answered_by=record.answered_by,
        )
        async with self._db.write() as conn:
            await conn.execute(
                automation_calls.insert().values(
                    call_connection_id=record.call_connection_id,
                    server_call_id=record.server_call_id,
                    owner_node=record.owner_node,
                    state=record.state.value,
                    properties=_encode(properties).decode(),
                    created_ms=now_ms,
                    updated_ms=now_ms,
                )
            )

    async def set_state(
        self, call_connection_id: str, state: CallConnectionState, now_ms: int
    ) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                automation_calls.update()
                .where(automation_calls.c.call_connection_id == call_connection_id)
                .values(state=state.value, updated_ms=now_ms)
            )

    async def get(self, call_connection_id: str) -> CallRecord | None:
        async with self._db.read() as conn:
            row = (
                (
                    await conn.execute(
                        sa.select(automation_calls).where(
                            automation_calls.c.call_connection_id == call_connection_id
                        )
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        props = _decode(row["properties"])
        return CallRecord(
            call_connection_id=row["call_connection_id"],
            server_call_id=row["server_call_id"],
            owner_node=row["owner_node"],
            state=CallConnectionState(row["state"]),
            callback_uri=props.callback_uri,
            correlation_id=props.correlation_id,
            targets=props.targets,
            source=props.source,
            source_caller_id=props.source_caller_id,
            source_display_name=props.source_display_name,
            operation_context=props.operation_context,
            answered_by=props.answered_by,
        )

    async def purge_ended(self, before_ms: int) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(
                automation_calls.delete().where(
                    automation_calls.c.state == CallConnectionState.DISCONNECTED.value,
                    automation_calls.c.updated_ms < before_ms,
                )
            )
        return int(result.rowcount or 0)
