"""SqlSimulatorStore: the SimulatorStore (simstore.py) on SQLite and PostgreSQL.

Pending items are ``sms_sim_pending`` rows (JSON payloads); a claim writes its token and
moves ``due_ms`` to the lease's end, as the SMS queue does (PostgreSQL: SKIP LOCKED).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

import sqlalchemy as sa

from switchboard.sms.simstore import (
    HandsetBehaviour,
    HandsetReport,
    InboxMessage,
    OwedReceipt,
    PendingItem,
    PendingKind,
)
from switchboard.sms.tables import sms_sim_handsets, sms_sim_inbox, sms_sim_pending
from switchboard.storage.database import Database

_i, _h, _p = sms_sim_inbox, sms_sim_handsets, sms_sim_pending


class SqlSimulatorStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def behaviour(self, number: str) -> HandsetBehaviour:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(_h).where(_h.c.number == number))).first()
        if row is None:
            return HandsetBehaviour(number)
        return HandsetBehaviour(number, HandsetReport(row.report), row.delay_ms)

    async def set_behaviour(self, behaviour: HandsetBehaviour) -> None:
        async with self._db.write() as conn:
            await conn.execute(_h.delete().where(_h.c.number == behaviour.number))
            await conn.execute(
                _h.insert().values(
                    number=behaviour.number,
                    report=behaviour.report.value,
                    delay_ms=behaviour.delay_ms,
                )
            )

    async def deliver_to_handset(
        self, message: InboxMessage, receipts: Sequence[OwedReceipt]
    ) -> None:
        async with self._db.write() as conn:
            already = await conn.scalar(
                sa.select(_i.c.seq).where(
                    _i.c.recipient == message.recipient,  # ix_sms_sim_inbox_recipient
                    _i.c.carrier_message_id == message.carrier_message_id,
                )
            )
            if already is not None:
                return
            await conn.execute(
                _i.insert().values(
                    carrier_message_id=message.carrier_message_id,
                    sender=message.sender,
                    recipient=message.recipient,
                    text=message.text,
                    segments=message.segments,
                    received_ms=message.received_ms,
                )
            )
            if receipts:
                await conn.execute(
                    _p.insert(),
                    [
                        {
                            "kind": PendingKind.REPORT.value,
                            "payload": json.dumps(
                                {"carrierMessageId": r.carrier_message_id, "status": r.status}
                            ),
                            "due_ms": r.due_ms,
                            "claim": None,
                        }
                        for r in receipts
                    ],
                )

    async def inject_inbound(self, sender: str, recipient: str, text: str, now_ms: int) -> str:
        carrier_id = uuid.uuid4().hex
        payload = {"from": sender, "to": recipient, "text": text, "carrierMessageId": carrier_id}
        async with self._db.write() as conn:
            await conn.execute(
                _p.insert().values(
                    kind=PendingKind.INBOUND.value,
                    payload=json.dumps(payload),
                    due_ms=now_ms,
                    claim=None,
                )
            )
        return carrier_id

    async def inbox(self, number: str | None = None, limit: int = 100) -> list[InboxMessage]:
        query = sa.select(_i).order_by(_i.c.seq.desc()).limit(limit)
        if number is not None:
            query = query.where(_i.c.recipient == number)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            InboxMessage(
                r.carrier_message_id, r.sender, r.recipient, r.text, r.segments, r.received_ms
            )
            for r in reversed(rows)
        ]

    async def claim_due(self, now_ms: int, limit: int, lease_ms: int) -> list[PendingItem]:
        token = uuid.uuid4().hex
        async with self._db.write() as conn:
            rows = (
                await conn.execute(
                    sa.select(_p)
                    .where(_p.c.due_ms <= now_ms)
                    .order_by(_p.c.seq)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if rows:
                await conn.execute(
                    _p.update()
                    .where(_p.c.seq.in_([r.seq for r in rows]))
                    .values(claim=token, due_ms=now_ms + lease_ms)
                )
        return [PendingItem(r.seq, PendingKind(r.kind), json.loads(r.payload), token) for r in rows]

    async def done(self, item: PendingItem) -> None:
        async with self._db.write() as conn:
            await conn.execute(_p.delete().where(_p.c.seq == item.seq, _p.c.claim == item.claim))

    async def next_due_ms(self) -> int | None:
        async with self._db.read() as conn:
            value = (await conn.execute(sa.select(sa.func.min(_p.c.due_ms)))).scalar()
        return None if value is None else int(value)
