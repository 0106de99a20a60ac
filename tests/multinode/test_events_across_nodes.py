"""Two nodes sharing PostgreSQL + Redis deliver each event once per subscription, not once per
node: both dispatchers wake on every commit and race for the same deliveries."""

from __future__ import annotations

import json
import ssl
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from switchboard.bus.redis import RedisBus
from switchboard.core.clock import SystemClock
from switchboard.core.events import IntegrationEvent
from switchboard.events.outbox import SqlEventOutbox
from switchboard.storage import Database
from tests.acs_signing import sign
from tests.conftest import REDIS_URL
from tests.delivery_barrier import deliveries_settled
from tests.event_receiver import EventReceiver
from tests.integration.server import RunningServer, start_server

pytestmark = pytest.mark.anyio

Cluster = tuple[RunningServer, RunningServer, str]  # two nodes and their Redis namespace


@pytest.fixture(scope="module")
def cluster(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    data_dir: Path = tmp_path_factory.mktemp("events-cluster")
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        "SWITCHBOARD_REDIS_NAMESPACE": namespace,
        "SWITCHBOARD_EVENTS_RETRY_SCALE": "0.001",
        "SWITCHBOARD_EVENTS_POLL_SECONDS": "5",  # long: the Redis wake-up must do the work
        "SWITCHBOARD_EVENTS_DELIVERY_CONCURRENCY": "4",
    }
    args = ["--database-url", postgres_url, "--redis-url", REDIS_URL]
    first = start_server(data_dir / "a", *args, env=env)
    second = start_server(data_dir / "b", *args, env=env)
    yield first, second, namespace
    assert first.stop() == 0, "\n".join(first.output)
    assert second.stop() == 0, "\n".join(second.output)


@dataclass
class Producer:
    """A producer on neither node: the shared database, and wake-ups on the nodes' Redis."""

    database: Database
    outbox: SqlEventOutbox

    async def publish(self, events: list[IntegrationEvent]) -> None:
        async with self.database.write() as conn:
            await self.outbox.add(conn, events)
        await self.outbox.notify()


@pytest.fixture
async def producer(postgres_url: str, cluster: Cluster) -> AsyncIterator[Producer]:
    database = Database(postgres_url)
    bus = RedisBus(REDIS_URL, cluster[2])
    await database.start()
    await bus.start()
    yield Producer(database, SqlEventOutbox(bus, SystemClock()))
    await bus.stop()
    await database.stop()


async def admin(
    node: RunningServer, method: str, target: str, body: object = None
) -> httpx.Response:
    content = b"" if body is None else json.dumps(body).encode()
    headers = sign(method, target, urlsplit(node.endpoint).netloc, content, node.access_key)
    context = ssl.create_default_context(cafile=node.ca_path)
    async with httpx.AsyncClient(base_url=node.endpoint, verify=context, timeout=30) as http:
        return await http.request(method, target, content=content, headers=headers)


async def delivered_by(node: RunningServer) -> float:
    """This node's count of successful deliveries, from its /metrics."""
    context = ssl.create_default_context(cafile=node.ca_path)
    async with httpx.AsyncClient(base_url=node.endpoint, verify=context) as http:
        text = (await http.get("/metrics")).text
    line = 'switchboard_event_deliveries_total{outcome="delivered"} '
    return sum(float(row[len(line) :]) for row in text.splitlines() if row.startswith(line))


async def test_each_event_is_delivered_once_per_subscription(
    cluster: Cluster, producer: Producer
) -> None:
    first, second, _ = cluster
    event_type = f"Test.{uuid.uuid4().hex[:8]}.Clustered"
    receiver = await EventReceiver(delay_seconds=0.02).start()  # slow enough to overlap
    names = [f"t-{uuid.uuid4().hex[:8]}-{i}" for i in range(2)]
    try:
        for node, name in zip((first, second), names, strict=True):
            response = await admin(
                node,
                "PUT",
                f"/admin/eventSubscriptions/{name}",
                {"endpointUrl": receiver.url(f"/{name}"), "includedEventTypes": [event_type]},
            )
            assert response.status_code == 201, response.text
        events: list[IntegrationEvent] = []
        for batch in range(6):
            committed = [
                IntegrationEvent(event_type, f"batch/{batch}", {"i": i}, time.time())
                for i in range(10)
            ]
            await producer.publish(committed)
            events += committed

        expected = {(f"/{name}", e.id) for name in names for e in events}
        delivered: Counter[tuple[str, str]] = Counter()

        def count() -> bool:
            delivered.clear()
            for request in receiver.notifications:
                for event in request.events():
                    delivered[(request.path, event["id"])] += 1
            return set(delivered) >= expected

        await receiver.wait_until(count, within=30)
        await deliveries_settled(producer.database, names)  # nothing more can arrive now
        count()
        assert set(delivered) == expected
        assert max(delivered.values()) == 1, [k for k, v in delivered.items() if v > 1]
        shares = [await delivered_by(node) for node in (first, second)]
        assert sum(shares) >= len(expected)
        assert min(shares) > 0, shares  # both nodes took part: the race was real
    finally:
        for node, name in zip((first, second), names, strict=True):
            await admin(node, "DELETE", f"/admin/eventSubscriptions/{name}")
        await receiver.stop()
