from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL
from tests.integration.server import RunningServer, start_server


@pytest.fixture(scope="module")
def two_nodes(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Two server processes sharing one PostgreSQL database and one Redis namespace."""
    data_dir: Path = tmp_path_factory.mktemp("cluster")
    env = {"SWITCHBOARD_REDIS_NAMESPACE": f"test-{uuid.uuid4().hex[:8]}"}
    args = ["--database-url", postgres_url, "--redis-url", REDIS_URL]
    first = start_server(data_dir / "a", *args, env=env)
    second = start_server(data_dir / "b", *args, env=env)
    yield first, second
    assert first.stop() == 0, "\n".join(first.output)
    assert second.stop() == 0, "\n".join(second.output)
