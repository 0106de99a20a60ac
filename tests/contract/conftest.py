"""Contract fixtures: the backends a store contract runs on (in memory, SQLite, PostgreSQL).

A contract module's store fixture takes ``backend_url`` and builds its store from it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DATABASE_KINDS

MEMORY = "memory"


@pytest.fixture(params=[MEMORY, *DATABASE_KINDS])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None for the in-memory store, else a database URL (resolved outside the event loop:
    the session's PostgreSQL database is made with asyncio.run)."""
    if request.param == MEMORY:
        return None
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
