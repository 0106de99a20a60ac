"""A TCP link between a browser and the server that a test can cut: the network failing.

    browser ─TLS─▶ 127.0.0.1:<link port> ─bytes, untouched─▶ 127.0.0.1:<server port>

``cut()`` resets every open connection at once (a killed socket, as a dropped Wi-Fi does);
``offline()`` also refuses new ones until ``online()``. TLS goes through end to end, so the
browser still verifies the server's certificate (issued for 127.0.0.1, any port).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CuttableLink:
    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._online = True
        self.connections = 0  # accepted while online, over the link's life
        self.port = 0

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._relay, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        self.offline()

        def finish() -> None:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.call_later(0.1, self._loop.stop)

        self._loop.call_soon_threadsafe(finish)
        self._thread.join(10)

    def _call(self, action: object) -> None:
        done = threading.Event()

        def run() -> None:
            try:
                action()  # type: ignore[operator]
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(10)

    def cut(self) -> None:
        """Reset every connection open now (RST, like a dead network path)."""
        self._call(self._reset_all)

    def offline(self) -> None:
        """Cut, and refuse new connections until ``online()``."""

        def go_offline() -> None:
            self._online = False
            self._reset_all()

        self._call(go_offline)

    def online(self) -> None:
        def go_online() -> None:
            self._online = True

        self._call(go_online)

    def _reset_all(self) -> None:
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._online:
            _reset(writer)
            return
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        except OSError:
            _reset(writer)
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for side in (writer, up_writer):
            self._writers.discard(side)
            with contextlib.suppress(Exception):
                side.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), not FIN: the peer sees the connection die."""
    raw = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        if raw is not None:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@contextmanager
def cuttable_link(target_port: int) -> Iterator[CuttableLink]:
    link = CuttableLink(target_port)
    link.start()
    try:
        yield link
    finally:
        link.stop()
