"""Test peers for the SMPP carrier: a real SMSC (smpp34's server) and a link we can cut.

    SmppCarrier ──TCP──▶ LinkProxy ──TCP──▶ Smpp34Smsc (smpp34.Server, Rust, independent)
                         │ counts PDUs with our framer; cut() drops every connection and
                         │ refuses new ones until restore(); cut_at_submit(n) drops the link
                         │ instead of forwarding the n-th submit_sm; blackhole() swallows
                         │ traffic with the sockets left open (a silently dead link)

smpp34 cannot drop a bound session on command (its ``Server.stop`` leaves open sessions
alone), hence the proxy rather than a home-made SMSC.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import smpp34

from switchboard.gateways.smpp.pdu import CommandId, PduFramer
from tests.free_ports import free_port

Decision = Callable[[smpp34.SubmitSmEvent], int | None]  # status to reject with; None: accept


@dataclass
class Submitted:
    """What the SMSC received in one submit_sm, and the id it answered with."""

    source_addr: str
    source_addr_ton: int
    destination_addr: str
    dest_addr_ton: int
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: bytes
    message_id: str | None


@dataclass
class Smpp34Smsc:
    port: int = field(default_factory=free_port)
    decide: Decision = lambda event: None
    hold: bool = False  # queue submit events undecided, for the test to accept
    submitted: list[Submitted] = field(default_factory=list)
    held: asyncio.Queue[smpp34.SubmitSmEvent] = field(default_factory=asyncio.Queue)
    binds: int = 0
    unbinds: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    esme: smpp34.Esme | None = None
    _server: smpp34.Server | None = None
    _pump: asyncio.Task[None] | None = None
    _next_id: int = 1000

    async def start(self) -> None:
        self._server = smpp34.Server("127.0.0.1", self.port, system_id="SMSC")
        await self._server.start()
        self._pump = asyncio.create_task(self._run(self._server))

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        if self._server is not None:
            await self._server.stop()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            self.changed.clear()
            await self.changed.wait()

    def accept(self, event: smpp34.SubmitSmEvent) -> str:
        self._next_id += 1
        message_id = f"M{self._next_id}"
        event.accept(message_id)
        self.submitted.append(_record(event, message_id))
        self.changed.set()
        return message_id

    async def _run(self, server: smpp34.Server) -> None:
        while True:
            event = await server.next()
            if isinstance(event, smpp34.Esme):
                self.esme = event
                self.binds += 1
            elif isinstance(event, smpp34.Unbound):
                self.unbinds += 1
            elif self.hold:
                await self.held.put(event)
            else:
                status = self.decide(event)
                if status is None:
                    self.accept(event)
                else:
                    event.reject(status)
                    self.submitted.append(_record(event, None))
            self.changed.set()


def _record(event: smpp34.SubmitSmEvent, message_id: str | None) -> Submitted:
    return Submitted(
        event.source_addr,
        event.source_addr_ton,
        event.destination_addr,
        event.dest_addr_ton,
        event.esm_class,
        event.data_coding,
        event.registered_delivery,
        event.short_message,
        message_id,
    )


class LinkProxy:
    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0
        self.seen: dict[tuple[str, int], int] = {}  # (direction, command_id) → count
        self.in_flight = 0
        self.max_in_flight = 0
        self.cut_at_submit: int | None = None
        self.was_cut = asyncio.Event()
        self.swallowing = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def stop(self) -> None:
        self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def count(self, direction: str, command_id: int) -> int:
        return self.seen.get((direction, command_id), 0)

    def cut(self) -> None:
        """Drop every connection and refuse new ones (the SMSC is gone)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        self.in_flight = 0
        self.was_cut.set()

    async def restore(self) -> None:
        self.swallowing = False
        if self._server is None:
            await self.start()

    def blackhole(self) -> None:
        self.swallowing = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._writers |= {writer, up_writer}
        for task in (
            asyncio.create_task(self._pipe(reader, up_writer, "esme", writer)),
            asyncio.create_task(self._pipe(up_reader, writer, "smsc", up_writer)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        direction: str,
        own_writer: asyncio.StreamWriter,
    ) -> None:
        framer = PduFramer()
        try:
            while data := await reader.read(65536):
                for frame in framer.feed(data):
                    if self._forward(direction, frame) and not writer.is_closing():
                        writer.write(frame)
                        await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()
            own_writer.transport.abort()

    def _forward(self, direction: str, frame: bytes) -> bool:
        if self.swallowing:
            return False
        command_id = int.from_bytes(frame[4:8], "big")
        key = (direction, command_id)
        self.seen[key] = self.seen.get(key, 0) + 1
        if key == ("esme", CommandId.SUBMIT_SM):
            if self.cut_at_submit == self.count("esme", CommandId.SUBMIT_SM):
                self.cut_at_submit = None
                self.cut()
                return False
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        elif key == ("smsc", CommandId.SUBMIT_SM_RESP):
            self.in_flight -= 1
        return True
