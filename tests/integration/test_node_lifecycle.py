"""A node that fails to start stops what it had already started."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchboard.app import Switchboard
from switchboard.core.config import ConfigError, load_settings

pytestmark = pytest.mark.anyio


async def test_a_failed_start_stops_the_parts_already_started(
    database_url: str, tmp_path: Path
) -> None:
    bad = json.dumps([{"name": "x", "endpoint_url": "http://127.0.0.1:9/e"}])  # name too short
    settings = load_settings(
        {"data_dir": tmp_path, "database_url": database_url, "events_subscriptions": bad},
        environ={},
    )
    node = Switchboard(settings)
    with pytest.raises(ConfigError):
        await node.start()
    assert await node.bus.ping() is False  # the bus was started, and is stopped again
