"""Identity storage: the ``IdentityStore`` protocol and its SQL implementation."""

from __future__ import annotations

from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from switchboard.identity.models import Identity
from switchboard.storage.database import Database, metadata

identities = sa.Table(
    "identities",
    metadata,
    sa.Column("id", sa.String(160), primary_key=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("deleted_ms", sa.BigInteger, nullable=True),
    sa.Column("tokens_revoked_ms", sa.BigInteger, nullable=True),
    # Unique among live identities: deletion clears it, so the app may use it again.
    sa.Column("custom_id", sa.String(256), nullable=True),
    sa.Column("last_token_issued_ms", sa.BigInteger, nullable=True),
    sa.Index("ux_identities_custom_id", "custom_id", unique=True),
)


class CustomIdTakenError(Exception):
    """Another identity was created with this customId at the same moment."""


class IdentityStore(Protocol):
    async def create(
        self,
        identity_id: str,
        now_ms: int,
        *,
        custom_id: str | None = None,
        token_issued_ms: int | None = None,
    ) -> Identity:
        """Raises CustomIdTakenError if a live identity already has ``custom_id``."""
        ...

    async def get(self, identity_id: str) -> Identity | None: ...

    async def by_custom_id(self, custom_id: str) -> Identity | None:
        """The live identity created with ``custom_id``, if any."""
        ...

    async def note_token_issued(self, identity_id: str, now_ms: int) -> None: ...

    async def mark_deleted(self, identity_id: str, now_ms: int) -> bool:
        """True if a live identity was deleted (its tokens are revoked with it)."""
        ...

    async def revoke_tokens(self, identity_id: str, now_ms: int) -> bool:
        """True if a live identity's tokens were revoked."""
        ...


class SqlIdentityStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self,
        identity_id: str,
        now_ms: int,
        *,
        custom_id: str | None = None,
        token_issued_ms: int | None = None,
    ) -> Identity:
        row = Identity(
            identity_id, now_ms, custom_id=custom_id, last_token_issued_ms=token_issued_ms
        )
        try:
            async with self._db.write() as conn:
                await conn.execute(
                    identities.insert().values(
                        id=identity_id,
                        created_ms=now_ms,
                        custom_id=custom_id,
                        last_token_issued_ms=token_issued_ms,
                    )
                )
        except IntegrityError as exc:
            if custom_id is None:
                raise
            raise CustomIdTakenError(custom_id) from exc
        return row

    async def get(self, identity_id: str) -> Identity | None:
        return await self._one(identities.c.id == identity_id)

    async def by_custom_id(self, custom_id: str) -> Identity | None:
        return await self._one(
            identities.c.custom_id == custom_id, identities.c.deleted_ms.is_(None)
        )

    async def note_token_issued(self, identity_id: str, now_ms: int) -> None:
        await self._update_live(identity_id, last_token_issued_ms=now_ms)

    async def mark_deleted(self, identity_id: str, now_ms: int) -> bool:
        return await self._update_live(
            identity_id, deleted_ms=now_ms, tokens_revoked_ms=now_ms, custom_id=None
        )

    async def revoke_tokens(self, identity_id: str, now_ms: int) -> bool:
        return await self._update_live(identity_id, tokens_revoked_ms=now_ms)

    async def _one(self, *where: Any) -> Identity | None:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(identities).where(*where))).first()
        if row is None:
            return None
        return Identity(
            row.id,
            row.created_ms,
            row.deleted_ms,
            row.tokens_revoked_ms,
            row.custom_id,
            row.last_token_issued_ms,
        )

    async def _update_live(self, identity_id: str, **values: int | None) -> bool:
        async with self._db.write() as conn:
            result = await conn.execute(
                identities.update()
                .where(identities.c.id == identity_id, identities.c.deleted_ms.is_(None))
                .values(**values)
            )
        return result.rowcount == 1
