"""Migration 0013: identities made before customId keep working, and customId is unique."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from switchboard.identity.store import CustomIdTakenError, SqlIdentityStore
from switchboard.storage import Database
from switchboard.storage.database import _MIGRATIONS

pytestmark = pytest.mark.anyio

OLD = "8:acs:00000000-0000-0000-0000-000000000001_00000001-0000-0000-0000-000000000001"


def upgrade(connection: Connection, target: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, target)


async def test_old_identities_survive_and_custom_ids_are_unique(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    async with database.engine.connect() as conn:
        await conn.run_sync(upgrade, "0011")
        await conn.execute(
            sa.text("INSERT INTO identities (id, created_ms, tokens_revoked_ms) VALUES (:i, 1, 5)"),
            {"i": OLD},
        )
        await conn.commit()
    await database.start()  # upgrades to head
    try:
        store = SqlIdentityStore(database)
        old = await store.get(OLD)
        assert old is not None
        assert (old.tokens_revoked_ms, old.custom_id, old.last_token_issued_ms) == (5, None, None)
        await store.create(OLD.replace("01", "02", 1), 2, custom_id="same")
        with pytest.raises(CustomIdTakenError):
            await store.create(OLD.replace("01", "03", 1), 3, custom_id="same")
        await store.create(OLD.replace("01", "04", 1), 4)  # many without one
        await store.create(OLD.replace("01", "05", 1), 5)
    finally:
        await database.stop()
