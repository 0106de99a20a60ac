"""Stored responses of repeatable requests, keyed by scope and client request id.

The first writer of a key wins: a concurrent twin (another request, possibly on another
node, carrying the same id) gets the winner's response back from ``put`` instead of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from switchboard.storage.database import Database, metadata

repeatable_responses = sa.Table(
    "repeatable_responses",
    metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("headers", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_repeatable_responses_created", "created_ms"),
)

MAX_KEY_LENGTH = 300

_PUT_ATTEMPTS = 3


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class SqlRepeatabilityStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def get(self, key: str) -> StoredResponse | None:
        t = repeatable_responses
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(t.c.status, t.c.headers, t.c.body).where(t.c.key == key)
                )
            ).first()
        if row is None:
            return None
        headers = json.loads(row.headers)
        return StoredResponse(
            int(row.status), {str(k): str(v) for k, v in headers.items()}, bytes(row.body)
        )

    async def put(self, key: str, response: StoredResponse, now_ms: int) -> StoredResponse:
        """Store ``response`` unless the key is taken; either way, the response that counts."""
        if len(key) > MAX_KEY_LENGTH:
            raise ValueError(f"repeatability key longer than {MAX_KEY_LENGTH} characters")
        values = {
            "key": key,
            "status": response.status,
            "headers": json.dumps(response.headers, separators=(",", ":")),
            "body": response.body,
            "created_ms": now_ms,
        }
        for _ in range(_PUT_ATTEMPTS):
            try:
                async with self._db.write() as conn:
                    await conn.execute(repeatable_responses.insert().values(**values))
            except IntegrityError:
                stored = await self.get(key)
                if stored is not None:
                    return stored  # a twin got there first; its outcome is the outcome
                # the twin's row was pruned between our insert and read: the key is free again
                continue
            return response
        raise RuntimeError(f"could not store or read the repeatable response for {key!r}")

    async def prune(self, older_than_ms: int) -> int:
        """Forget responses created before ``older_than_ms``; the number forgotten."""
        t = repeatable_responses
        async with self._db.write() as conn:
            result = await conn.execute(t.delete().where(t.c.created_ms < older_than_ms))
        return int(result.rowcount)
