"""SqlSmsStore: the SmsStore (store.py) on SQLite and PostgreSQL.

The queue is ``sms_messages`` itself: a queued row is due at ``next_attempt_ms``; a claim
writes its token to ``claim`` and moves ``next_attempt_ms`` to the lease's end. PostgreSQL
claims with ``FOR UPDATE SKIP LOCKED`` (nodes never take the same rows); SQLite has a single
writer and ignores the clause.

    transaction() ─▶ database.write() ─▶ SqlSmsTransaction ─▶ emitted events, rendered,
                     into the event outbox in the same transaction ─▶ commit ─▶ outbox.notify()
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.core.events import IntegrationEvent
from switchboard.events.outbox import Outbox
from switchboard.sms import heldsegments_sql
from switchboard.sms.carrier import InboundSegment, ReportStatus, SegmentKey
from switchboard.sms.events import SmsEvent
from switchboard.sms.models import (
    Direction,
    MessageState,
    QueuedMessage,
    SmsMessage,
)
from switchboard.sms.store import DuplicateMessageError, EarlyReport, NewMessage, QueueDepth
from switchboard.sms.tables import sms_early_reports, sms_messages, sms_optouts, sms_segments
from switchboard.storage.database import Database
from switchboard.storage.leases import lease_due_rows

_m, _s, _e, _o = sms_messages, sms_segments, sms_early_reports, sms_optouts


def message_from_row(row: RowMapping) -> SmsMessage:
    return SmsMessage(
        id=row["id"],
        direction=Direction(row["direction"]),
        state=MessageState(row["state"]),
        sender=row["sender"],
        recipient=row["recipient"],
        text=row["text"],
        tag=row["tag"],
        want_report=bool(row["want_report"]),
        carrier=row["carrier"],
        segments=row["segments"],
        segments_delivered=row["segments_delivered"],
        segments_failed=row["segments_failed"],
        created_ms=row["created_ms"],
        done_ms=row["done_ms"],
        detail=row["detail"],
    )


class SqlSmsTransaction:
    """An SmsUnitOfWork on one open database transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.connection = conn
        self.events: list[SmsEvent] = []

    async def release_segments(self, carrier: str, key: SegmentKey) -> None:
        await heldsegments_sql.release(self.connection, carrier, key)

    def emit(self, *events: SmsEvent) -> None:
        self.events.extend(events)

    async def message_by_dedupe_key(self, key: str) -> SmsMessage | None:
        row = (await self.connection.execute(sa.select(_m).where(_m.c.dedupe_key == key))).first()
        return None if row is None else message_from_row(row._mapping)

    async def message_ids_by_dedupe_keys(self, keys: Sequence[str]) -> dict[str, str]:
        if not keys:
            return {}
        rows = await self.connection.execute(
            sa.select(_m.c.dedupe_key, _m.c.id).where(_m.c.dedupe_key.in_(keys))
        )
        return {r.dedupe_key: r.id for r in rows.all()}

    async def insert_messages(self, messages: Sequence[NewMessage]) -> None:
        if not messages:
            return
        try:
            await self.connection.execute(_m.insert(), [_values(m) for m in messages])
        except IntegrityError as exc:
            raise DuplicateMessageError("A message id or dedupe key is taken.") from exc

    async def opted_out(self, sender: str, recipients: Sequence[str]) -> set[str]:
        rows = await self.connection.execute(
            sa.select(_o.c.recipient).where(
                _o.c.sender == sender, _o.c.recipient.in_(recipients), _o.c.opted_out.is_(True)
            )
        )
        return {r.recipient for r in rows.all()}

    async def set_opt_out(self, sender: str, recipient: str, opted_out: bool, now_ms: int) -> None:
        changed = await self.connection.execute(
            _o.update()
            .where(_o.c.sender == sender, _o.c.recipient == recipient)
            .values(opted_out=opted_out, updated_ms=now_ms)
        )
        if changed.rowcount == 0:
            await self.connection.execute(
                _o.insert().values(
                    sender=sender, recipient=recipient, opted_out=opted_out, updated_ms=now_ms
                )
            )

    async def mark_submitted(
        self, message: QueuedMessage, carrier_ids: Sequence[str], now_ms: int
    ) -> bool:
        changed = await self.connection.execute(
            _m.update()
            .where(_m.c.id == message.id, _m.c.claim == message.claim)
            .values(
                state=MessageState.SUBMITTED.value,
                segments=len(carrier_ids),
                claim=None,
                attempts=_m.c.attempts + 1,
                updated_ms=now_ms,
            )
        )
        if changed.rowcount == 0:
            return False
        await self.connection.execute(
            _s.insert(),
            [
                {"carrier": message.carrier, "carrier_message_id": cid, "message_id": message.id}
                for cid in carrier_ids
            ],
        )
        return True

    async def take_early_reports(
        self, carrier: str, carrier_ids: Sequence[str]
    ) -> list[EarlyReport]:
        where = sa.and_(_e.c.carrier == carrier, _e.c.carrier_message_id.in_(carrier_ids))
        rows = (await self.connection.execute(sa.select(_e).where(where))).all()
        if rows:
            await self.connection.execute(_e.delete().where(where))
        return [
            EarlyReport(r.carrier_message_id, ReportStatus(r.status), r.detail, r.received_ms)
            for r in rows
        ]

    async def apply_segment_report(
        self, carrier: str, carrier_id: str, status: ReportStatus, detail: str, now_ms: int
    ) -> SmsMessage | None:
        segment = (
            await self.connection.execute(
                sa.select(_s).where(_s.c.carrier == carrier, _s.c.carrier_message_id == carrier_id)
            )
        ).first()
        if segment is None:
            exists = (
                await self.connection.execute(
                    sa.select(_e.c.carrier).where(
                        _e.c.carrier == carrier, _e.c.carrier_message_id == carrier_id
                    )
                )
            ).first()
            if exists is None:
                await self.connection.execute(
                    _e.insert().values(
                        carrier=carrier,
                        carrier_message_id=carrier_id,
                        status=status.value,
                        detail=detail,
                        received_ms=now_ms,
                    )
                )
            return None
        if segment.status is not None:
            return None
        await self.connection.execute(
            _s.update()
            .where(_s.c.carrier == carrier, _s.c.carrier_message_id == carrier_id)
            .values(status=status.value)
        )
        delivered = status is ReportStatus.DELIVERED
        counter = _m.c.segments_delivered if delivered else _m.c.segments_failed
        await self.connection.execute(
            _m.update()
            .where(_m.c.id == segment.message_id)
            .values({counter.name: counter + 1, "updated_ms": now_ms})
        )
        row = (
            await self.connection.execute(sa.select(_m).where(_m.c.id == segment.message_id))
        ).first()
        if row is None:
            return None
        message = message_from_row(row._mapping)
        reported = message.segments_delivered + message.segments_failed
        if message.state is not MessageState.SUBMITTED or reported < (message.segments or 0):
            return None
        final = MessageState.FAILED if message.segments_failed else MessageState.DELIVERED
        await self.connection.execute(
            _m.update()
            .where(_m.c.id == message.id)
            .values(state=final.value, done_ms=now_ms, detail=detail)
        )
        return replace(message, state=final, done_ms=now_ms, detail=detail)

    async def fail(self, message: QueuedMessage, detail: str, now_ms: int) -> SmsMessage | None:
        changed = await self.connection.execute(
            _m.update()
            .where(_m.c.id == message.id, _m.c.claim == message.claim)
            .values(
                state=MessageState.FAILED.value,
                claim=None,
                attempts=_m.c.attempts + 1,
                updated_ms=now_ms,
                done_ms=now_ms,
                detail=detail,
            )
        )
        if changed.rowcount == 0:
            return None
        row = (await self.connection.execute(sa.select(_m).where(_m.c.id == message.id))).first()
        return None if row is None else message_from_row(row._mapping)


class SqlSmsStore:
    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        *,
        render: Callable[[SmsEvent], IntegrationEvent],
    ) -> None:
        self._db = database
        self._outbox = outbox
        self._render = render

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlSmsTransaction]:
        async with self._db.write() as conn:
            tx = SqlSmsTransaction(conn)
            yield tx
            if tx.events:
                await self._outbox.add(conn, [self._render(e) for e in tx.events])
        if tx.events:
            await self._outbox.notify()

    async def get(self, message_id: str) -> SmsMessage | None:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(_m).where(_m.c.id == message_id))).first()
        return None if row is None else message_from_row(row._mapping)

    async def opted_out(self, sender: str, recipients: Sequence[str]) -> set[str]:
        async with self._db.read() as conn:
            return await SqlSmsTransaction(conn).opted_out(sender, recipients)

    async def claim(
        self, carrier: str, now_ms: int, limit: int, lease_ms: int
    ) -> list[QueuedMessage]:
        """Due queued messages of ``carrier``, oldest first, leased to the caller."""
        async with self._db.write() as conn:
            token, rows = await lease_due_rows(
                conn,
                _m,
                _m.c.next_attempt_ms,
                now_ms=now_ms,
                limit=limit,
                lease_ms=lease_ms,
                where=(_m.c.state == MessageState.QUEUED.value, _m.c.carrier == carrier),
            )
        return [
            QueuedMessage(
                id=r.id,
                carrier=r.carrier,
                sender=r.sender,
                recipient=r.recipient,
                text=r.text,
                want_report=bool(r.want_report),
                created_ms=r.created_ms,
                claim=token,
            )
            for r in rows
        ]

    async def defer(self, message: QueuedMessage, until_ms: int, now_ms: int) -> None:
        """Put a claimed message back in the queue, due at ``until_ms``."""
        async with self._db.write() as conn:
            await conn.execute(
                _m.update()
                .where(_m.c.id == message.id, _m.c.claim == message.claim)
                .values(claim=None, next_attempt_ms=until_ms, updated_ms=now_ms)
            )

    async def next_due_ms(self, carrier: str) -> int | None:
        async with self._db.read() as conn:
            value = (
                await conn.execute(
                    sa.select(sa.func.min(_m.c.next_attempt_ms)).where(
                        _m.c.state == MessageState.QUEUED.value, _m.c.carrier == carrier
                    )
                )
            ).scalar()
        return None if value is None else int(value)

    async def queue_depths(self) -> dict[str, QueueDepth]:
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(_m.c.carrier, sa.func.count(), sa.func.min(_m.c.created_ms))
                    .where(_m.c.state == MessageState.QUEUED.value)
                    .group_by(_m.c.carrier)
                )
            ).all()
        return {carrier: QueueDepth(int(count), int(oldest)) for carrier, count, oldest in rows}

    async def hold_segment(
        self, carrier: str, segment: InboundSegment, expire_before_ms: int
    ) -> list[InboundSegment]:
        async with self._db.write() as conn:
            lock = not self._db.is_sqlite
            return await heldsegments_sql.hold(conn, carrier, segment, expire_before_ms, lock=lock)


def _values(message: NewMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction.value,
        "origin": message.origin.value,
        "state": message.state.value,
        "carrier": message.carrier,
        "sender": message.sender,
        "recipient": message.recipient,
        "text": message.text,
        "tag": message.tag,
        "want_report": message.want_report,
        "dedupe_key": message.dedupe_key,
        "segments": message.segments,
        "segments_delivered": 0,
        "segments_failed": 0,
        "attempts": 0,
        "next_attempt_ms": message.created_ms,
        "claim": None,
        "created_ms": message.created_ms,
        "updated_ms": message.created_ms,
        "done_ms": message.done_ms,
        "detail": None,
    }
