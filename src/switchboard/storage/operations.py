"""Long-running operations (LROs): their status, result location and error, shared by nodes.

notStarted ──▶ running ──▶ succeeded | failed | canceled   (terminal: never change again)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from switchboard.core.errors import ConflictError, NotFoundError
from switchboard.storage.database import Database, metadata

operations = sa.Table(
    "operations",
    metadata,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("resource_location", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)


class OperationStatus(StrEnum):
    NOT_STARTED = "notStarted"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"  # azure-core does not recognise "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({OperationStatus.SUCCEEDED, OperationStatus.FAILED, OperationStatus.CANCELED})


@dataclass(frozen=True)
class Operation:
    id: str
    kind: str
    status: OperationStatus
    resource_location: str | None
    error: tuple[str, str] | None  # (code, message)
    created_ms: int
    updated_ms: int


class SqlOperationStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(self, op: Operation) -> None:
        try:
            async with self._db.write() as conn:
                await conn.execute(
                    operations.insert().values(
                        id=op.id,
                        kind=op.kind,
                        status=op.status.value,
                        resource_location=op.resource_location,
                        error=_dump_error(op.error),
                        created_ms=op.created_ms,
                        updated_ms=op.updated_ms,
                    )
                )
        except IntegrityError as exc:
            raise ConflictError(f"Operation {op.id} already exists.") from exc

    async def get(self, id: str) -> Operation | None:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(operations).where(operations.c.id == id))).first()
        return None if row is None else _to_operation(row)

    async def update(
        self,
        id: str,
        status: OperationStatus,
        *,
        resource_location: str | None = None,
        error: tuple[str, str] | None = None,
        now_ms: int,
    ) -> Operation:
        """Move to ``status``; ``None`` leaves location/error as they are. Terminal is final."""
        values: dict[str, object] = {"status": status.value, "updated_ms": now_ms}
        if resource_location is not None:
            values["resource_location"] = resource_location
        if error is not None:
            values["error"] = _dump_error(error)
        terminal = [s.value for s in _TERMINAL]
        async with self._db.write() as conn:
            # Conditional update, so a late "running" cannot overwrite a concurrent "canceled".
            result = await conn.execute(
                operations.update()
                .where(operations.c.id == id, operations.c.status.not_in(terminal))
                .values(**values)
            )
            row = (await conn.execute(sa.select(operations).where(operations.c.id == id))).first()
        if row is None:
            raise NotFoundError(f"Operation {id} was not found.")
        if result.rowcount == 0:
            raise ConflictError(f"Operation {id} has already finished ({row.status}).")
        return _to_operation(row)

    async def delete(self, id: str) -> bool:
        async with self._db.write() as conn:
            result = await conn.execute(operations.delete().where(operations.c.id == id))
        return bool(result.rowcount)


def _dump_error(error: tuple[str, str] | None) -> str | None:
    if error is None:
        return None
    code, message = error
    return json.dumps({"code": code, "message": message})


def _to_operation(row: sa.Row[Any]) -> Operation:
    error = None
    if row.error is not None:
        loaded = json.loads(row.error)
        error = (str(loaded["code"]), str(loaded["message"]))
    return Operation(
        id=row.id,
        kind=row.kind,
        status=OperationStatus(row.status),
        resource_location=row.resource_location,
        error=error,
        created_ms=int(row.created_ms),
        updated_ms=int(row.updated_ms),
    )
