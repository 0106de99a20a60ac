"""Resource-wide secrets shared by every node: access keys, the resource id, internal keys.

They live in the database (not in a node's data directory) so that nodes sharing PostgreSQL
share them; with the embedded SQLite default the database is itself in the data directory.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from switchboard.storage.database import Database, metadata

resource_secrets = sa.Table(
    "resource_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)

PRIMARY_KEY = "access_key_primary"
SECONDARY_KEY = "access_key_secondary"
RESOURCE_ID = "resource_id"
PAGING_SECRET = "paging_secret"
TURN_SECRET = "turn_secret"  # coturn's static-auth-secret unless configured (traversal/)
INCOMING_CALL_SECRET = "incoming_call_secret"  # signs incomingCallContext (automation/)


def new_access_key() -> str:
    return base64.b64encode(secrets.token_bytes(64)).decode()


_GENERATORS: dict[str, Callable[[], str]] = {
    PRIMARY_KEY: new_access_key,
    SECONDARY_KEY: new_access_key,
    RESOURCE_ID: lambda: str(uuid.uuid4()),
    PAGING_SECRET: lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
    TURN_SECRET: lambda: secrets.token_urlsafe(32),  # goes into a config file: no "=" or "#"
    INCOMING_CALL_SECRET: lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
}


class SqlSecretStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def get(self, name: str) -> str | None:
        async with self._db.read() as conn:
            value = await conn.scalar(
                sa.select(resource_secrets.c.value).where(resource_secrets.c.name == name)
            )
        return None if value is None else str(value)

    async def get_or_create(self, name: str) -> str:
        """The secret, generating it on first use; concurrent first uses agree on one value."""
        existing = await self.get(name)
        if existing is not None:
            return existing
        value = _GENERATORS[name]()
        try:
            async with self._db.write() as conn:
                await conn.execute(
                    resource_secrets.insert().values(name=name, value=value, updated_ms=_now_ms())
                )
        except IntegrityError:
            pass  # another node created it first; use theirs
        stored = await self.get(name)
        if stored is None:
            raise RuntimeError(f"secret {name} vanished right after it was created")
        return stored

    async def replace(self, name: str, value: str) -> None:
        async with self._db.write() as conn:
            result = await conn.execute(
                resource_secrets.update()
                .where(resource_secrets.c.name == name)
                .values(value=value, updated_ms=_now_ms())
            )
            if result.rowcount == 0:
                await conn.execute(
                    resource_secrets.insert().values(name=name, value=value, updated_ms=_now_ms())
                )

    async def access_keys(self) -> tuple[str, str]:
        return await self.get_or_create(PRIMARY_KEY), await self.get_or_create(SECONDARY_KEY)

    async def rotate_access_key(self, which: str) -> str:
        name = {"primary": PRIMARY_KEY, "secondary": SECONDARY_KEY}[which]
        value = new_access_key()
        await self.replace(name, value)
        return value


def _now_ms() -> int:
    return int(time.time() * 1000)
