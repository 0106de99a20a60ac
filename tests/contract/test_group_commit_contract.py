"""GroupCommitter on SQLite and PostgreSQL: shared commits, isolated failures, durability."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa

from switchboard.storage import Database
from switchboard.storage.groupcommit import GroupCommitter
from switchboard.storage.secrets import resource_secrets

pytestmark = pytest.mark.anyio


async def names_stored(database: Database, names: list[str]) -> set[str]:
    async with database.read() as conn:
        rows = await conn.execute(
            sa.select(resource_secrets.c.name).where(resource_secrets.c.name.in_(names))
        )
    return {name for (name,) in rows.all()}


async def write(committer: GroupCommitter, name: str, *, fail: bool = False) -> None:
    async with committer.transaction() as conn:
        await conn.execute(resource_secrets.insert().values(name=name, value="v", updated_ms=1))
        await asyncio.sleep(0)  # let other writers queue up behind this one
        if fail:
            raise ValueError(name)


async def test_concurrent_writers_are_all_committed(database: Database) -> None:
    committer = GroupCommitter(database)
    names = [f"gc-{uuid.uuid4().hex[:16]}" for _ in range(50)]
    await asyncio.gather(*(write(committer, name) for name in names))
    assert await names_stored(database, names) == set(names)


async def test_a_failing_writer_rolls_back_only_its_own_work(database: Database) -> None:
    committer = GroupCommitter(database)
    good = [f"gc-{uuid.uuid4().hex[:16]}" for _ in range(10)]
    bad = f"gc-{uuid.uuid4().hex[:16]}"
    results = await asyncio.gather(
        *(write(committer, name) for name in good[:5]),
        write(committer, bad, fail=True),
        *(write(committer, name) for name in good[5:]),
        return_exceptions=True,
    )
    assert [type(r) for r in results].count(ValueError) == 1
    assert await names_stored(database, [*good, bad]) == set(good)


async def test_a_writer_returns_only_after_its_write_is_visible_elsewhere(
    database: Database,
) -> None:
    committer = GroupCommitter(database)

    async def write_then_check(name: str) -> bool:
        await write(committer, name)
        return name in await names_stored(database, [name])  # another connection

    names = [f"gc-{uuid.uuid4().hex[:16]}" for _ in range(20)]
    assert all(await asyncio.gather(*(write_then_check(name) for name in names)))


async def test_writers_share_commits(database: Database) -> None:
    committer = GroupCommitter(database)
    batches: list[int] = []
    original = committer._commit

    async def counting(batch: object) -> None:
        batches.append(1)
        await original(batch)  # type: ignore[arg-type]  # the private batch type

    committer._commit = counting  # type: ignore[method-assign]  # observe, not change
    await asyncio.gather(*(write(committer, f"gc-{uuid.uuid4().hex[:16]}") for _ in range(40)))
    assert 1 <= len(batches) < 40
