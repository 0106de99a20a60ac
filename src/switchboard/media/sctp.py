"""One participant's SCTP association on the media node, over the node's own DTLS (RFC 8261).

aiortc's ``RTCSctpTransport`` does SCTP (congestion control, partial reliability RFC 3758,
reassembly); it is given a stand-in for its DTLS transport whose ``_send_data`` encrypts with
the participant's ``DtlsServer`` and sends on the participant's media socket. Messages are
taken below aiortc's RTCDataChannel objects (``_receive`` / ``_send``: the two channels are
pre-negotiated, so there is no DCEP to answer). See docs/decisions.md for the measurement.

    DTLS application data ─▶ deliver(): bounded queue (full: dropped; SCTP recovers it for
        durable, and lossy is lossy) ─▶ pump task ─▶ association ─▶ on_message(stream, bytes)
    send(stream, frame, lossy) ─▶ bounded outbound backlog (over it: dropped, counted)
        ─▶ association ─▶ DTLS record ─▶ UDP

Media never waits for any of this: the socket reader only decrypts the record and queues
it; SCTP runs in the pump task. ``loss`` drops that fraction of the association's datagrams
both ways (a test hook: emulates a lossy link without touching media).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import struct
from collections.abc import Callable
from typing import Any, cast

from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcsctptransport import (
    USERDATA_MAX_LENGTH,
    Chunk,
    DataChunk,
    ForwardTsnChunk,
    RTCSctpCapabilities,
    RTCSctpTransport,
)
from google_crc32c import value as crc32c

from switchboard.core.tasks import cancel_and_wait
from switchboard.media.data_frames import BINARY_PPID, MAX_MESSAGE_BYTES, SCTP_PORT

logger = logging.getLogger(__name__)

INBOUND_QUEUE = 512  # DTLS records waiting for the pump task
LOSSY_BACKLOG = 256  # SCTP chunks queued for the participant beyond which lossy ones drop
DURABLE_BACKLOG = 4096  # … and durable ones (a receiver that stopped reading)
MessageHandler = Callable[[int, bytes], None]  # (stream id, message)


class _DtlsStandIn:
    """What ``RTCSctpTransport`` uses of its ``RTCDtlsTransport``: role, state, send."""

    state = "connected"

    def __init__(self, send: Callable[[bytes], None], role: str) -> None:
        self._send = send
        self._role = role  # the node is always the DTLS server (media/dtls.py)

    def _register_data_receiver(self, receiver: object) -> None:
        pass

    def _unregister_data_receiver(self, receiver: object) -> None:
        pass

    async def _send_data(self, data: bytes) -> None:
        self._send(data)


class _Association(RTCSctpTransport):
    """aiortc's association, with DATA chunks bundled (RFC 9260 §6.10).

    aiortc sends each chunk in a packet of its own, and its peer answers every packet with a
    SACK. Here ``_transmit`` runs once per loop iteration, after everything queued meanwhile
    (a burst the router forwards to this participant), and its DATA/FORWARD-TSN chunks leave
    packed into as few packets as fit the same size aiortc uses for one full chunk.
    """

    def __init__(self, link: _DtlsStandIn, on_message: MessageHandler) -> None:
        super().__init__(cast(RTCDtlsTransport, link), SCTP_PORT)
        self._on_message = on_message
        self._link = link
        self._bundle: list[bytes] | None = None
        self._transmit_due = False
        self._transmits: set[asyncio.Task[None]] = set()

    async def _receive(self, stream_id: int, pp_id: int, data: bytes) -> None:
        if pp_id == BINARY_PPID:
            self._on_message(stream_id, data)

    async def _transmit(self) -> None:
        if not self._transmit_due:
            self._transmit_due = True
            asyncio.get_running_loop().call_soon(self._transmit_now)

    def _transmit_now(self) -> None:
        self._transmit_due = False
        task = asyncio.get_running_loop().create_task(self._transmit_bundled())
        self._transmits.add(task)
        task.add_done_callback(self._transmits.discard)

    async def _transmit_bundled(self) -> None:
        self._bundle = []
        try:
            await super()._transmit()
        finally:
            chunks, self._bundle = self._bundle, None
            for packet in self._packets(chunks):
                self._link._send(packet)

    async def _send_chunk(self, chunk: Chunk) -> None:
        if self._bundle is not None and isinstance(chunk, DataChunk | ForwardTsnChunk):
            self._bundle.append(bytes(chunk))
        else:
            await super()._send_chunk(chunk)

    def _packets(self, chunks: list[bytes]) -> list[bytes]:
        header = struct.pack("!HHL", SCTP_PORT, SCTP_PORT, self._remote_verification_tag)
        packets: list[bytes] = []
        body = b""
        for chunk in chunks:
            if body and len(body) + len(chunk) > _BUNDLE_BYTES:
                packets.append(_packet(header, body))
                body = b""
            body += chunk
        if body:
            packets.append(_packet(header, body))
        return packets


_BUNDLE_BYTES = USERDATA_MAX_LENGTH + 16  # what one full DATA chunk takes in aiortc


def _packet(header: bytes, body: bytes) -> bytes:
    checksum = crc32c(header + b"\x00\x00\x00\x00" + body)
    return header + struct.pack("<L", checksum) + body


class SctpLink:
    def __init__(
        self,
        participant_id: str,
        send_datagram: Callable[[bytes], None],
        on_message: MessageHandler,
        *,
        role: str = "server",  # "client": a participant's side (bench/datachannel.py)
    ) -> None:
        self.participant_id = participant_id
        self._send_datagram = send_datagram
        self._association = _Association(_DtlsStandIn(self._outgoing, role), on_message)
        self._inbound: asyncio.Queue[bytes] = asyncio.Queue(INBOUND_QUEUE)
        self._task: asyncio.Task[None] | None = None
        self._random = random.Random()
        self.loss = 0.0
        self.inbound_drops = 0
        self.send_drops = 0
        self.lost = 0

    @property
    def established(self) -> bool:
        association: Any = self._association
        return bool(association._association_state == RTCSctpTransport.State.ESTABLISHED)

    def deliver(self, record: bytes) -> None:
        """A decrypted DTLS record from the participant (its SCTP packet)."""
        if self.loss and self._random.random() < self.loss:
            self.lost += 1
            return
        self.start()
        try:
            self._inbound.put_nowait(record)
        except asyncio.QueueFull:
            self.inbound_drops += 1

    async def send(self, stream_id: int, frame: bytes, *, lossy: bool) -> bool:
        """Queue one message for the participant; False if it was dropped."""
        association: Any = self._association
        backlog = LOSSY_BACKLOG if lossy else DURABLE_BACKLOG
        if not self.established or len(association._outbound_queue) >= backlog:
            self.send_drops += 1
            return False
        await association._send(
            stream_id,
            BINARY_PPID,
            frame,
            max_retransmits=0 if lossy else None,
            ordered=not lossy,
        )
        return True

    def start(self) -> None:
        """Associate now (the client side; the node waits for the participant's INIT)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._pump(), name=f"sctp {self.participant_id}"
            )

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        with contextlib.suppress(Exception):
            await self._association.stop()

    def _outgoing(self, packet: bytes) -> None:
        if self.loss and self._random.random() < self.loss:
            self.lost += 1
            return
        self._send_datagram(packet)

    async def _pump(self) -> None:
        association: Any = self._association
        capabilities = RTCSctpCapabilities(maxMessageSize=MAX_MESSAGE_BYTES + 512)
        await association.start(capabilities, SCTP_PORT)
        while True:
            record = await self._inbound.get()
            try:
                await association._handle_data(record)
            except Exception:  # one bad packet must not end the participant's data channel
                logger.exception("participant %s: SCTP packet failed", self.participant_id)
