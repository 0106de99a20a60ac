"""A Switchboard node in process for the events tests: its admin API over ASGI with HMAC,
and the producer's side (outbox add in a transaction, then notify).

Retry schedules are scaled down (x0.001: 10 ms, 30 ms, 60 ms, ...). The PostgreSQL database
is shared by the session, so each Harness has its own tag for subscription names and event
types, and deletes its subscriptions when its nodes stop.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from switchboard.app import Node as Switchboard
from switchboard.app import build_node
from switchboard.core.config import load_settings, node_config
from switchboard.core.events import IntegrationEvent
from switchboard.storage import Database
from tests.acs_signing import sign
from tests.event_receiver import EventReceiver

HOST = "127.0.0.1:8443"
FAST = {
    "events_retry_scale": 0.001,
    "events_poll_seconds": 0.2,
    "events_delivery_timeout_seconds": 2.0,
}


class Harness:
    def __init__(self, node: Switchboard, http: httpx.AsyncClient, key: str) -> None:
        self.node = node
        self.http = http
        self.key = key
        self.tag = uuid.uuid4().hex[:8]

    def name(self, suffix: str = "sub") -> str:
        return f"t-{self.tag}-{suffix}"

    def type(self, suffix: str = "Happened") -> str:
        return f"Test.{self.tag}.{suffix}"

    async def admin(self, method: str, target: str, body: Any = None) -> httpx.Response:
        content = b"" if body is None else json.dumps(body).encode()
        headers = sign(method, target, HOST, content, self.key)
        return await self.http.request(method, target, content=content, headers=headers)

    async def subscribe(
        self, receiver: EventReceiver, suffix: str = "sub", *, query: str = "", **body: Any
    ) -> httpx.Response:
        body.setdefault("endpointUrl", receiver.url(f"/{suffix}"))
        return await self.admin(
            "PUT", f"/admin/eventSubscriptions/{self.name(suffix)}{query}", body
        )

    async def publish(self, *types: str) -> list[IntegrationEvent]:
        """What a domain does: add in its transaction, notify after the commit."""
        events = [
            IntegrationEvent(t, f"things/{i}", {"n": i, "tag": self.tag}, time.time())
            for i, t in enumerate(types)
        ]
        async with self.node.database.write() as conn:
            await self.node.events.outbox.add(conn, events)
        await self.node.events.outbox.notify()
        return events

    async def dead_letters(self, suffix: str = "sub") -> list[dict[str, Any]]:
        response = await self.admin(
            "GET", f"/admin/deadLetters?subscriptionName={self.name(suffix)}"
        )
        assert response.status_code == 200, response.text
        value: list[dict[str, Any]] = response.json()["value"]
        return value

    async def cleanup(self) -> None:
        page = await self.node.events.subscriptions.list(None, 1000)
        for subscription in page.items:
            if self.tag in subscription.name:
                await self.node.events.subscriptions.delete(subscription.name)


NodeFactory = Callable[..., Awaitable[Harness]]


@asynccontextmanager
async def running_nodes(database_url: str, tmp_path: Path) -> AsyncIterator[NodeFactory]:
    """Start nodes on demand (``await start(mode="production")``); all stop at the end."""
    started: list[tuple[Harness, httpx.AsyncClient]] = []

    async def start(**overrides: Any) -> Harness:
        settings = load_settings(
            {"data_dir": tmp_path, "database_url": database_url, "port": 8443, **FAST, **overrides},
            environ={},
        )
        config = node_config(settings)
        if not config.server.development:  # production migrates only on purpose (db upgrade)
            schema = Database(database_url)
            await schema.start(migrate=True)
            await schema.stop()
        node = await build_node(config)  # a failed build stops what started
        primary, _ = await node.secrets.access_keys()
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=node.asgi), base_url=f"https://{HOST}"
        )
        harness = Harness(node, http, primary)
        started.append((harness, http))
        return harness

    yield start
    for harness, http in started:
        await harness.cleanup()
        await http.aclose()
        await harness.node.stop()
