from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DATABASE_KINDS
from tests.integration.server import RunningServer, start_server


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real server process over TLS, on SQLite and on PostgreSQL."""
    data_dir: Path = tmp_path_factory.mktemp("switchboard")
    args: list[str] = []
    if request.param == "postgres":
        args += ["--database-url", request.getfixturevalue("postgres_url")]
    running = start_server(data_dir, *args)
    yield running
    assert running.stop() == 0, "\n".join(running.output)
