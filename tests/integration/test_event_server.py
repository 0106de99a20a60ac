"""Webhook delivery from a real server process: nothing owed is lost to a ``kill -9``."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from switchboard.bus.memory import MemoryBus
from switchboard.core.clock import SystemClock
from switchboard.core.events import IntegrationEvent
from switchboard.events.outbox import SqlEventOutbox
from switchboard.events.tables import event_deliveries
from switchboard.storage import Database
from tests.delivery_barrier import deliveries_settled
from tests.event_receiver import EventReceiver
from tests.integration.admin_http import signed_request
from tests.integration.server import RunningServer, start_server

pytestmark = pytest.mark.anyio

FAST = {
    "SWITCHBOARD_EVENTS_RETRY_SCALE": "0.001",
    "SWITCHBOARD_EVENTS_POLL_SECONDS": "0.2",
    # Generous: a receiver slow to answer on a busy machine would count as a failed delivery
    # and be sent again ("each once" fails); the down receiver refuses at once, no wait.
    "SWITCHBOARD_EVENTS_DELIVERY_TIMEOUT_SECONDS": "10",
}


async def admin_put(server: RunningServer, target: str, body: dict[str, object]) -> httpx.Response:
    return await signed_request(server, "PUT", target, body)


async def test_deliveries_owed_survive_kill_9_and_arrive_after_restart(tmp_path: Path) -> None:
    name, event_type = f"t-{uuid.uuid4().hex[:8]}", f"Test.{uuid.uuid4().hex[:8]}.Killed"
    receiver = await EventReceiver().start()
    await receiver.stop()  # the receiver is down; its port is known
    server = start_server(tmp_path, env=FAST)
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'switchboard.db'}")
    bus = MemoryBus()
    try:
        response = await admin_put(
            server,
            f"/admin/eventSubscriptions/{name}?skipValidation=true",
            {"endpointUrl": receiver.url(), "includedEventTypes": [event_type]},
        )
        assert response.status_code == 201, response.text
        # A producer commits events into the server's database (another process: no wake-up,
        # the server finds them within its poll).
        await database.start()
        await bus.start()
        events = [IntegrationEvent(event_type, "s", {"i": i}, time.time()) for i in range(3)]
        async with database.write() as conn:
            await SqlEventOutbox(bus, SystemClock()).add(conn, events)
        deadline = time.monotonic() + 15
        while True:  # until the server has tried (and failed) each of them
            async with database.read() as conn:
                attempts = (
                    await conn.scalars(
                        sa.select(event_deliveries.c.attempts).where(
                            event_deliveries.c.subscription_name == name
                        )
                    )
                ).all()
            if len(attempts) == 3 and min(attempts) >= 1:
                break
            assert time.monotonic() < deadline, attempts
            await asyncio.sleep(0.1)

        server.process.kill()  # SIGKILL: no shutdown, no draining
        server.process.wait()
        await receiver.start()  # the receiver comes back on the same port
        server = start_server(tmp_path, env=FAST)
        ids = sorted(e.id for e in events)
        await receiver.wait_until(lambda: sorted(receiver.accepted_ids) == ids, within=20)
        await deliveries_settled(database, [name])
        assert sorted(receiver.accepted_ids) == ids  # each once
    finally:
        assert server.stop() == 0, "\n".join(server.output)
        await receiver.stop()
        await bus.stop()
        await database.stop()
