from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DATABASE_KINDS
from tests.integration.server import RunningServer, start_server


def database_args_for(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """Server arguments for ``request.param``: SQLite (the data dir's file) or PostgreSQL."""
    if request.param == "postgres":
        return ("--database-url", request.getfixturevalue("postgres_url"))
    return ()


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real server process over TLS, on SQLite and on PostgreSQL."""
    data_dir: Path = tmp_path_factory.mktemp("switchboard")
    running = start_server(data_dir, *database_args_for(request))
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture(params=DATABASE_KINDS)
def database_args(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """For a test that starts (and kills) its own server: on SQLite, then on PostgreSQL — a
    database of its own, so what it finds left over after the crash is its own."""
    if request.param == "postgres":
        return ("--database-url", request.getfixturevalue("private_postgres_url"))
    return ()
