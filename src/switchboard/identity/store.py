"""Identity storage: the ``IdentityStore`` protocol and its SQL implementation."""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa

from switchboard.identity.models import Identity
from switchboard.storage.database import Database, metadata

identities = sa.Table(
    "identities",
    metadata,
    sa.Column("id", sa.String(160), primary_key=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("deleted_ms", sa.BigInteger, nullable=True),
    sa.Column("tokens_revoked_ms", sa.BigInteger, nullable=True),
)


class IdentityStore(Protocol):
    async def create(self, identity_id: str, now_ms: int) -> Identity: ...

    async def get(self, identity_id: str) -> Identity | None: ...

    async def mark_deleted(self, identity_id: str, now_ms: int) -> bool:
        """True if a live identity was deleted (its tokens are revoked with it)."""
        ...

    async def revoke_tokens(self, identity_id: str, now_ms: int) -> bool:
        """True if a live identity's tokens were revoked."""
        ...


class SqlIdentityStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(self, identity_id: str, now_ms: int) -> Identity:
        async with self._db.write() as conn:
            await conn.execute(identities.insert().values(id=identity_id, created_ms=now_ms))
        return Identity(identity_id, now_ms)

    async def get(self, identity_id: str) -> Identity | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(sa.select(identities).where(identities.c.id == identity_id))
            ).first()
        if row is None:
            return None
        return Identity(row.id, row.created_ms, row.deleted_ms, row.tokens_revoked_ms)

    async def mark_deleted(self, identity_id: str, now_ms: int) -> bool:
        return await self._update_live(identity_id, deleted_ms=now_ms, tokens_revoked_ms=now_ms)

    async def revoke_tokens(self, identity_id: str, now_ms: int) -> bool:
        return await self._update_live(identity_id, tokens_revoked_ms=now_ms)

    async def _update_live(self, identity_id: str, **values: int) -> bool:
        async with self._db.write() as conn:
            result = await conn.execute(
                identities.update()
                .where(identities.c.id == identity_id, identities.c.deleted_ms.is_(None))
                .values(**values)
            )
        return result.rowcount == 1
