"""WebSockets that open and close leave no memory behind (issue 13), against a real server
under uvicorn and under granian.

Each test opens and closes 2,000 sockets of one kind (chat, calling, refused) after a
warm-up of 300 of the same kind, then waits for the server's RSS to settle back within
``SETTLED_GROWTH`` of what it was after the warm-up. Before the fix, every closed socket
stayed in a reference cycle (the error raised through ``first_completed``; uvicorn's HTTP
protocol and its parser after an upgrade) until a full collection, which the node's GC
thresholds make rare: +6 MB per 1,000 chat sockets here (40 MB on the issue's machine),
growing without bound. Free C-heap pages left by the sockets' TLS state are given back by
``HeapTrimmer`` within its 5 s interval. The bound, 4 MB for 2,000 sockets (2 KB a socket),
is 3× below the old growth and well above the noise of one run (≈ ±1.5 MB: caches, the
allocator's own arenas).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from azure.communication.identity import CommunicationIdentityClient, CommunicationTokenScope
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration.server import RunningServer, start_server

pytestmark = pytest.mark.anyio

WARM_UP = 300
SOCKETS = 2_000
PARALLEL = 16
SETTLED_GROWTH = 4 << 20  # bytes, for SOCKETS sockets
SETTLE_WITHIN = 15.0  # seconds: three trim intervals
CALLING_PROTOCOL = "switchboard.calling.v1"


@pytest.fixture(scope="module", params=["uvicorn", "granian"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp("ws-memory")
    running = start_server(data_dir, env={"SWITCHBOARD_HTTP_SERVER": request.param})
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture(scope="module")
def tokens(server: RunningServer) -> list[str]:
    client = CommunicationIdentityClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    scopes = [CommunicationTokenScope.CHAT, CommunicationTokenScope.VOIP]
    return [client.create_user_and_token(scopes=scopes)[1].token for _ in range(20)]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


Session = Callable[[int], Awaitable[None]]


async def churn(count: int, session: Session) -> None:
    """Run ``session(i)`` for every i below ``count``, PARALLEL at a time."""
    indices = iter(range(count))

    async def worker() -> None:
        for index in indices:
            await session(index)

    await asyncio.gather(*(worker() for _ in range(PARALLEL)))


async def settles(server: RunningServer, session: Session) -> tuple[int, int]:
    """(growth after SOCKETS sockets, RSS after the warm-up), once within the bound or
    SETTLE_WITHIN has passed."""
    pid = server.process.pid
    await churn(WARM_UP, session)
    await asyncio.sleep(0)
    before = rss_bytes(pid)
    await churn(SOCKETS, session)
    deadline = time.monotonic() + SETTLE_WITHIN
    growth = rss_bytes(pid) - before
    while growth > SETTLED_GROWTH and time.monotonic() < deadline:
        await asyncio.sleep(0.5)  # polling a measurement, not waiting for an event
        growth = rss_bytes(pid) - before
    return growth, before


def url(server: RunningServer, path: str) -> str:
    return server.endpoint.replace("https://", "wss://") + path


def tls(server: RunningServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=server.ca_path)


async def test_chat_sockets_opened_and_closed_leave_no_memory_behind(
    server: RunningServer, tokens: list[str]
) -> None:
    context = tls(server)

    async def chat(index: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[index % len(tokens)]}"}
        async with connect(
            url(server, "/chat/realtime"), additional_headers=headers, ssl=context
        ) as socket:
            while json.loads(await socket.recv()).get("type") != "live":
                pass

    growth, before = await settles(server, chat)
    assert growth <= SETTLED_GROWTH, f"{growth >> 10} KB more than {before >> 10} KB"


async def test_calling_sockets_opened_and_closed_leave_no_memory_behind(
    server: RunningServer, tokens: list[str]
) -> None:
    context = tls(server)

    async def calling(index: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[index % len(tokens)]}"}
        async with connect(
            url(server, "/calling/signaling"),
            additional_headers=headers,
            subprotocols=[CALLING_PROTOCOL],  # type: ignore[list-item]  # a str is fine
            ssl=context,
        ) as socket:
            await socket.send(json.dumps({"v": 1, "type": "register", "id": "r1"}))
            while json.loads(await socket.recv()).get("id") != "r1":
                pass
            await socket.send(json.dumps({"v": 1, "type": "unregister", "id": "r2"}))
            try:
                while True:
                    await socket.recv()
            except ConnectionClosed:
                pass

    growth, before = await settles(server, calling)
    assert growth <= SETTLED_GROWTH, f"{growth >> 10} KB more than {before >> 10} KB"


async def test_refused_sockets_leave_no_memory_behind(server: RunningServer) -> None:
    context = tls(server)
    codes: set[int | None] = set()

    async def refused(_index: int) -> None:
        headers = {"Authorization": "Bearer not-a-token"}
        async with connect(
            url(server, "/chat/realtime"), additional_headers=headers, ssl=context
        ) as socket:
            try:
                await socket.recv()
            except ConnectionClosed as closed:
                codes.add(closed.rcvd.code if closed.rcvd else None)

    growth, before = await settles(server, refused)
    assert codes == {4001}  # every one of them was refused, and for its token
    assert growth <= SETTLED_GROWTH, f"{growth >> 10} KB more than {before >> 10} KB"
