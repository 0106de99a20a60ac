"""Shared fixtures: databases (SQLite and PostgreSQL), used by every test level.

PostgreSQL and Redis are real services. A missing service fails the tests that need it;
nothing is skipped (under CI=true that is the rule, and locally it is the honest default).
"""

from __future__ import annotations

import getpass
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import settings as hypothesis_settings

from switchboard.storage import Database
from tests.scheduling import GroupScheduling, sort_items

POSTGRES_ADMIN_URL = os.environ.get(
    "SWITCHBOARD_TEST_POSTGRES_URL", f"postgresql://{getpass.getuser()}@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SWITCHBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

DATABASE_KINDS = ["sqlite", "postgres"]

# Hypothesis's per-example deadline (200 ms) is a timed assertion: on a busy 2-core machine a
# slow example says nothing about the code. Speed is measured in bench/, never here.
hypothesis_settings.register_profile("switchboard", deadline=None)
hypothesis_settings.load_profile("switchboard")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def fresh_postgres_database() -> Iterator[str]:
    """A new PostgreSQL database (its URL), dropped when the generator is closed."""
    import asyncio

    name = f"sb_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    yield from fresh_postgres_database()


@pytest.fixture
def private_postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own (a crash test counts what is left in it)."""
    yield from fresh_postgres_database()


@pytest.fixture(params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await db.start()
    try:
        yield db
    finally:
        await db.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    sort_items(config, items)


@pytest.hookimpl(tryfirst=True)  # before xdist's own choice
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> GroupScheduling | None:
    """``--dist loadgroup`` (scripts/test): the groups of tests/scheduling.py."""
    return GroupScheduling(config, log) if config.getvalue("dist") == "loadgroup" else None
