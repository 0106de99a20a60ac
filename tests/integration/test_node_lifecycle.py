"""A node that fails to start stops what it had already started; a stopped node leaves
nothing running."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from switchboard.app import build_node
from switchboard.core.config import ConfigError, load_config

pytestmark = pytest.mark.anyio


def _other_tasks() -> set[asyncio.Task[object]]:
    return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}


async def test_a_failed_start_stops_the_parts_already_started(
    database_url: str, tmp_path: Path
) -> None:
    bad = json.dumps([{"name": "x", "endpoint_url": "http://127.0.0.1:9/e"}])  # name too short
    config = load_config(
        {"data_dir": tmp_path, "database_url": database_url, "events_subscriptions": bad},
        environ={},
    )
    before = _other_tasks()
    with pytest.raises(ConfigError, match=r"events\.subscriptions 'x'"):
        await build_node(config)
    await asyncio.sleep(0)  # let cancelled tasks finish their last step
    # Identity's revocation listener and the bus had started: their tasks are gone again.
    assert _other_tasks() == before


async def test_a_stopped_node_leaves_no_task_running(database_url: str, tmp_path: Path) -> None:
    config = load_config({"data_dir": tmp_path, "database_url": database_url}, environ={})
    before = _other_tasks()
    node = await build_node(config)
    assert len(_other_tasks() - before) >= 3  # upkeep, listeners, senders are running
    await node.stop()
    await asyncio.sleep(0)
    assert _other_tasks() == before
    assert await node.bus.ping() is False
