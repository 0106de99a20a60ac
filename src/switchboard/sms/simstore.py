"""The simulator carrier's storage: handsets' inboxes, their behaviour, and what it owes us.

Shared by the running simulator (sms/simulator.py), the admin API and ``switchboard sim``
(which works on the database directly, like ``switchboard events``): an inbound message
injected from the shell is a pending row that the running node's simulator picks up.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from switchboard.sms.tables import sms_sim_handsets, sms_sim_inbox, sms_sim_pending
from switchboard.storage.database import Database

_i, _h, _p = sms_sim_inbox, sms_sim_handsets, sms_sim_pending


class HandsetReport(StrEnum):
    """What a simulated handset does with a message sent to it."""

    DELIVERED = "delivered"  # a DELIVRD receipt (the default)
    FAILED = "failed"  # an UNDELIV receipt
    NONE = "none"  # no receipt ever
    REJECT = "reject"  # the network refuses the submit


class PendingKind(StrEnum):
    INBOUND = "inbound"
    REPORT = "report"


@dataclass(frozen=True, slots=True)
class HandsetBehaviour:
    number: str
    report: HandsetReport = HandsetReport.DELIVERED
    delay_ms: int = 0


@dataclass(frozen=True, slots=True)
class InboxMessage:
    carrier_message_id: str
    sender: str
    recipient: str
    text: str
    segments: int
    received_ms: int


@dataclass(frozen=True, slots=True)
class PendingItem:
    seq: int
    kind: PendingKind
    payload: dict[str, Any]
    claim: str


class SimulatorStore:
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
        self, message: InboxMessage, receipts: Sequence[tuple[str, str, int]]
    ) -> None:
        """An outbound message reaches the handset; ``receipts``: (carrier id, status, due_ms)
        owed for its segments."""
        async with self._db.write() as conn:
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
                            "payload": json.dumps({"carrierMessageId": cid, "status": status}),
                            "due_ms": due_ms,
                            "claim": None,
                        }
                        for cid, status, due_ms in receipts
                    ],
                )

    async def inject_inbound(self, sender: str, recipient: str, text: str, now_ms: int) -> str:
        """A handset sends us a message; returns the network's id for it."""
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
