"""Leased claims on a queue table: the rows due now, oldest first, taken by one claimer.

    lease_due_rows(conn, table, due, …) ─▶ SELECT … WHERE due <= now … ORDER BY seq LIMIT n
        FOR UPDATE SKIP LOCKED (PostgreSQL: claimers on other nodes take other rows) ─▶
        UPDATE those rows: claim = a new token, due = now + lease ─▶ (token, rows)

A claimer that dies leaves its rows due again when the lease ends; one that finishes deletes or
updates them by id (and, where it matters, checks the token). Used by the SMS queue and the push
outbox (their tables: ``id``, ``seq``, ``claim`` and a due-time column in ms).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


async def lease_due_rows(
    conn: AsyncConnection,
    table: sa.Table,
    due: sa.Column[Any],
    *,
    now_ms: int,
    limit: int,
    lease_ms: int,
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> tuple[str, list[sa.Row[Any]]]:
    """The claim token and the rows leased with it (none: an empty list)."""
    token = uuid.uuid4().hex
    rows = list(
        (
            await conn.execute(
                sa.select(table)
                .where(due <= now_ms, *where)
                .order_by(table.c.seq)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )
    if rows:
        await conn.execute(
            table.update()
            .where(table.c.id.in_([r.id for r in rows]))
            .values({table.c.claim: token, due: now_ms + lease_ms})
        )
    return token, rows
