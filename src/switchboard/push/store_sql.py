"""Registrations and the push outbox in SQL (SQLite, PostgreSQL): tables.py, migration 0015.

The outbox's claim is a lease: the claimed rows' ``due_ms`` moves to the lease's end, so a
node that dies holding them leaves them due again then (PostgreSQL: ``SKIP LOCKED`` keeps two
nodes from claiming the same rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.push.models import Notification, PushJob, PushKind, Registration
from switchboard.push.tables import push_outbox as _o
from switchboard.push.tables import push_registrations as _r
from switchboard.push.tables import push_stream_positions as _p
from switchboard.storage.database import Database
from switchboard.storage.leases import lease_due_rows


class SqlRegistrationStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def put(self, registration: Registration) -> None:
        r = registration
        async with self._db.write() as conn:
            await conn.execute(
                _r.delete().where(_r.c.user_id == r.user_id, _r.c.device_id == r.device_id)
            )
            await conn.execute(
                _r.insert().values(
                    user_id=r.user_id,
                    device_id=r.device_id,
                    kind=r.kind.value,
                    token=r.token,
                    app_id=r.app_id,
                    p256dh=r.p256dh,
                    auth=r.auth,
                    created_ms=r.created_ms,
                    expires_ms=r.expires_ms,
                )
            )

    async def remove(self, user_id: str, device_id: str) -> bool:
        return await self._delete(_r.c.user_id == user_id, _r.c.device_id == device_id) > 0

    async def of_user(self, user_id: str, now_ms: int) -> list[Registration]:
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(_r)
                    .where(_r.c.user_id == user_id, _r.c.expires_ms > now_ms)
                    .order_by(_r.c.device_id)
                )
            ).all()
        return [_registration(row._mapping) for row in rows]

    async def get(self, user_id: str, device_id: str) -> Registration | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(_r).where(_r.c.user_id == user_id, _r.c.device_id == device_id)
                )
            ).first()
        return None if row is None else _registration(row._mapping)

    async def remove_user(self, user_id: str) -> int:
        return await self._delete(_r.c.user_id == user_id)

    async def remove_token(self, kind: PushKind, token: str) -> int:
        return await self._delete(_r.c.kind == kind.value, _r.c.token == token)

    async def prune(self, now_ms: int) -> int:
        return await self._delete(_r.c.expires_ms <= now_ms)

    async def _delete(self, *where: Any) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(_r.delete().where(*where))
        return int(result.rowcount)


def _registration(row: Any) -> Registration:
    return Registration(
        row["user_id"],
        row["device_id"],
        PushKind(row["kind"]),
        row["token"],
        row["app_id"],
        row["p256dh"],
        row["auth"],
        row["created_ms"],
        row["expires_ms"],
    )


class SqlPushOutbox:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, jobs: Sequence[PushJob]) -> None:
        if not jobs:
            return
        async with self._db.batch_write() as conn:
            await self._insert(conn, jobs)

    async def _insert(self, conn: AsyncConnection, jobs: Sequence[PushJob]) -> None:
        insert = pg_insert(_o) if not self._db.is_sqlite else sqlite_insert(_o)
        await conn.execute(
            insert.on_conflict_do_nothing(index_elements=["id"]),  # owed once
            [
                {
                    "id": j.id,
                    "user_id": j.user_id,
                    "device_id": j.device_id,
                    "notification": j.notification.encode(),
                    "created_ms": j.created_ms,
                    "attempts": j.attempts,
                    "due_ms": j.due_ms,
                    "claim": "",
                }
                for j in jobs
            ],
        )

    async def stream_position(self, stream: str, start: int) -> int:
        insert = pg_insert(_p) if not self._db.is_sqlite else sqlite_insert(_p)
        async with self._db.write() as conn:
            await conn.execute(
                insert.values(stream=stream, position=start).on_conflict_do_nothing(
                    index_elements=["stream"]
                )
            )
            position = await conn.scalar(sa.select(_p.c.position).where(_p.c.stream == stream))
        return int(position or 0)

    async def owe_from_stream(
        self, stream: str, upto: int, jobs: Sequence[tuple[int, PushJob]]
    ) -> list[PushJob]:
        async with self._db.write() as conn:
            # The row lock (SQLite: the write lock) orders the nodes reading the same stream:
            # the second sees the first's position and adds only what lies beyond it.
            stored = await conn.scalar(
                sa.select(_p.c.position).where(_p.c.stream == stream).with_for_update()
            )
            if stored is None:
                await conn.execute(_p.insert().values(stream=stream, position=upto))
            elif upto > stored:
                await conn.execute(_p.update().where(_p.c.stream == stream).values(position=upto))
            added = [job for position, job in jobs if stored is None or position > stored]
            if added:
                await self._insert(conn, added)
        return added

    async def claim(self, now_ms: int, limit: int, lease_ms: int) -> list[PushJob]:
        async with self._db.write() as conn:
            token, rows = await lease_due_rows(
                conn, _o, _o.c.due_ms, now_ms=now_ms, limit=limit, lease_ms=lease_ms
            )
        return [
            PushJob(
                r.id,
                r.user_id,
                r.device_id,
                Notification.decode(r.notification),
                r.created_ms,
                r.attempts,
                now_ms + lease_ms,
                token,
            )
            for r in rows
        ]

    async def done(self, job_ids: Sequence[str]) -> None:
        if job_ids:
            async with self._db.batch_write() as conn:
                await conn.execute(_o.delete().where(_o.c.id.in_(list(job_ids))))

    async def retry(self, job: PushJob, due_ms: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                _o.update()
                .where(_o.c.id == job.id)
                .values(attempts=_o.c.attempts + 1, due_ms=due_ms, claim="")
            )

    async def pending(self) -> int:
        async with self._db.read() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(_o))).scalar()
        return int(count or 0)
