"""StreamSocket: metadata first, frames in order, a slow app never holds up the sender, and
each way a connection can end is reported once."""

from __future__ import annotations

import asyncio

import pytest

from switchboard.automation.streaming.socket import SocketState, StreamSocket
from tests.unit.streaming.fakes import FakeConnector

pytestmark = pytest.mark.anyio
URL = "ws://app.example/stream"


class States:
    def __init__(self) -> None:
        self.seen: list[SocketState] = []
        self.changed = asyncio.Event()

    def __call__(self, state: SocketState, detail: str) -> None:
        self.seen.append(state)
        self.changed.set()

    async def reach(self, state: SocketState) -> None:
        async with asyncio.timeout(5):
            while state not in self.seen:
                self.changed.clear()
                await self.changed.wait()


async def test_metadata_then_frames_in_order_then_closed() -> None:
    connector, states = FakeConnector(), States()
    socket = StreamSocket(URL, connector, b"meta", on_state=states)
    socket.send(b"one")
    running = asyncio.create_task(socket.run())
    await states.reach(SocketState.CONNECTED)
    socket.send(b"two")
    socket.send(b"three")
    connection = connector.connections[URL]
    await connection.until(lambda sent: len(sent) >= 4)
    socket.close()
    await running
    assert connection.sent == [b"meta", b"one", b"two", b"three"]
    assert states.seen == [SocketState.CONNECTED, SocketState.CLOSED]
    assert connection.closed


async def test_a_slow_app_only_loses_the_oldest_frames() -> None:
    connector, states = FakeConnector(), States()
    socket = StreamSocket(URL, connector, b"meta", on_state=states, max_frames=3)
    running = asyncio.create_task(socket.run())
    await states.reach(SocketState.CONNECTED)
    connection = connector.connections[URL]
    connection.reading.clear()  # the app stops reading: our send blocks
    for index in range(10):
        socket.send(f"frame {index}".encode())  # returns at once all the same
    assert socket.dropped_frames >= 6
    connection.reading.set()
    await connection.until(lambda sent: sent[-1:] == [b"frame 9"])
    assert connection.sent[-3:] == [b"frame 7", b"frame 8", b"frame 9"]
    socket.close()
    await running


async def test_an_unreachable_url_is_failed_and_an_app_hanging_up_interrupted() -> None:
    connector, states = FakeConnector(refused={URL}), States()
    await StreamSocket(URL, connector, b"meta", on_state=states).run()
    assert states.seen == [SocketState.FAILED]

    connector, states = FakeConnector(), States()
    heard: list[str | bytes] = []
    socket = StreamSocket(URL, connector, b"meta", on_state=states, on_message=heard.append)
    running = asyncio.create_task(socket.run())
    await states.reach(SocketState.CONNECTED)
    connection = connector.connections[URL]
    connection.incoming.put_nowait('{"kind":"StopAudio"}')
    connection.app_hangs_up()
    await running
    assert heard == ['{"kind":"StopAudio"}']
    assert states.seen == [SocketState.CONNECTED, SocketState.INTERRUPTED]
