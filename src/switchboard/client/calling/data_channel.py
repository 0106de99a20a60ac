"""ACS's DataChannel feature for the Python client: senders and receivers over WebRTC.

    call.data_channel.create_sender(channel_id, reliability, priority, bitrate_in_kbps,
        participants) ─▶ DataChannelSender ─send_message(bytes)─▶ checks (size, bitrate,
        closed) ─▶ group call: dataChannelSender request once (the node's route; a Consumer
        is refused 403) ─▶ frame on the peer connection's lossy or durable data channel
    remote frame ─▶ DataChannelReceiver per (sender, channel id), new ones on ``receivers``
        ─▶ receiver.read() ─▶ DataChannelMessage(sequence_number, data)

``DataLinks`` are the two pre-negotiated channels of one peer connection (created before its
first offer, so the offer carries the data m-line): to the media node in group calls, to the
other device in 1:1 calls. When they are not open (no SCTP), messages go over the signaling
relay (``dataChannel`` with ``channelId``/``sequenceNumber``, base64 data) instead.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiortc import RTCDataChannel, RTCPeerConnection

from switchboard.calling.signaling import requests
from switchboard.client.calling.session import RequestFailed
from switchboard.media.data_frames import (
    CLOSE_SEQUENCE,
    DEFAULT_BITRATE_KBPS,
    DURABLE_STREAM,
    LOSSY_STREAM,
    MAX_BITRATE_KBPS,
    MAX_CHANNEL_ID,
    MAX_MESSAGE_BYTES,
    MIN_CHANNEL_ID,
    DataFrame,
    DataFrameError,
    DataPriority,
    DataReliability,
)


class DataChannelError(Exception):
    """A data-channel operation ACS refuses; ``code`` names which."""

    code = "DataChannelError"


class MessageTooLargeError(DataChannelError):
    code = "MessageSizeExceeded"


class SendingTooFastError(DataChannelError):
    code = "BitrateExceeded"


class SenderClosedError(DataChannelError):
    code = "SenderClosed"


class SendingNotAllowedError(DataChannelError):
    """The server refused the sender (a Room Consumer receives only)."""

    code = "Forbidden"


@dataclass(frozen=True, slots=True)
class DataChannelMessage:
    sequence_number: int
    data: bytes


class DataLinks:
    """One peer connection's two data channels (negotiated, no DCEP)."""

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.on_message: Callable[[DataFrame], None] | None = None
        self.lossy = pc.createDataChannel(
            "acs-lossy", ordered=False, maxRetransmits=0, negotiated=True, id=LOSSY_STREAM
        )
        self.durable = pc.createDataChannel("acs-durable", negotiated=True, id=DURABLE_STREAM)
        for channel in (self.lossy, self.durable):
            channel.on("message", self._message)

    def channel(self, reliability: DataReliability) -> RTCDataChannel | None:
        channel = self.lossy if reliability is DataReliability.LOSSY else self.durable
        return channel if channel.readyState == "open" else None

    def _message(self, data: Any) -> None:
        if isinstance(data, bytes) and self.on_message is not None:
            with contextlib.suppress(DataFrameError):
                self.on_message(DataFrame.decode(data))


class DataChannelPort(Protocol):
    """What the feature needs of its call."""

    @property
    def call_id(self) -> str | None: ...

    @property
    def is_group(self) -> bool: ...

    def links(self) -> DataLinks | None: ...

    def peer_id(self) -> str | None: ...

    def request(self, request: requests.Request) -> Awaitable[object]: ...


class DataChannelReceiver:
    def __init__(self, channel_id: int, sender_participant_id: str) -> None:
        self.channel_id = channel_id
        self.sender_participant_id = sender_participant_id
        self.messages: asyncio.Queue[DataChannelMessage] = asyncio.Queue()
        self.closed = asyncio.Event()  # its sender closed (ACS's receiver "close")

    async def read(self) -> DataChannelMessage:
        return await self.messages.get()


class DataChannelSender:
    def __init__(
        self,
        port: DataChannelPort,
        channel_id: int,
        reliability: DataReliability,
        priority: DataPriority,
        bitrate_in_kbps: int,
        participants: list[str] | None,
    ) -> None:
        self._port = port
        self.channel_id = channel_id
        self.reliability = reliability
        self.priority = priority
        self.bitrate_in_kbps = bitrate_in_kbps
        self.participants = participants
        self.max_message_size_in_bytes = MAX_MESSAGE_BYTES
        self.closed = False
        self._sequence = 0
        self._routed = False
        self._budget = float(bitrate_in_kbps * 125)  # bytes: one second's worth
        self._refilled = time.monotonic()

    async def send_message(self, data: bytes) -> None:
        if self.closed:
            raise SenderClosedError("The data channel sender is closed.")
        if len(data) > MAX_MESSAGE_BYTES:
            raise MessageTooLargeError(f"A message is at most {MAX_MESSAGE_BYTES} bytes.")
        self._spend(len(data))
        if self._port.is_group and not self._routed:
            await self._open()
        self._sequence = self._sequence % (2**32 - 1) + 1  # 0 is the close mark
        await self._deliver(self.reliability, self._sequence, data)

    async def _deliver(self, reliability: DataReliability, sequence: int, data: bytes) -> bool:
        """A frame on the data channel (True), or (no SCTP) over the signaling relay."""
        links = self._port.links()
        channel = links.channel(reliability) if links is not None else None
        if channel is not None:
            channel.send(DataFrame(self.channel_id, sequence, "", data).encode())
            return True
        await self._port.request(
            requests.DataChannel(
                call_id=self._port.call_id,
                data=base64.b64encode(data).decode(),
                participant_ids=self.participants,
                channel_id=self.channel_id,
                sequence_number=sequence,
            )
        )
        return False

    async def set_participants(self, participants: list[str] | None) -> None:
        self.participants = participants
        if self._routed:
            await self._open()

    async def close(self) -> None:
        """Receivers get the close mark (sequence 0, after the durable messages); the node
        closes the route on it, or, for a relayed sender, on ``dataChannelSender closed``
        (sent after the mark: signaling keeps their order)."""
        if self.closed:
            return
        self.closed = True
        over_sctp = False
        if self._routed or not self._port.is_group:
            over_sctp = await self._deliver(DataReliability.DURABLE, CLOSE_SEQUENCE, b"")
        if self._routed and not over_sctp:
            await self._port.request(
                requests.DataChannelSender(
                    call_id=self._port.call_id, channel_id=self.channel_id, closed=True
                )
            )

    async def _open(self) -> None:
        request = requests.DataChannelSender(
            call_id=self._port.call_id,
            channel_id=self.channel_id,
            reliability=self.reliability.value,
            priority=self.priority.value,
            bitrate_in_kbps=self.bitrate_in_kbps,
            participant_ids=self.participants,
        )
        try:
            await self._port.request(request)
        except RequestFailed as refused:
            error = SendingNotAllowedError if refused.code == "Forbidden" else DataChannelError
            raise error(refused.message) from refused
        self._routed = True

    def _spend(self, size: int) -> None:
        """A token bucket of one second at the sender's bitrate: over it, too fast."""
        now = time.monotonic()
        ceiling = self.bitrate_in_kbps * 125.0
        self._budget = min(ceiling, self._budget + (now - self._refilled) * ceiling)
        self._refilled = now
        if size > self._budget:
            raise SendingTooFastError(
                f"Sending faster than the sender's {self.bitrate_in_kbps} kbps."
            )
        self._budget -= size


class DataChannelFeature:
    def __init__(self, port: DataChannelPort) -> None:
        self._port = port
        self._receivers: dict[tuple[str, int], DataChannelReceiver] = {}
        self.receivers: asyncio.Queue[DataChannelReceiver] = asyncio.Queue()  # created ones

    def create_sender(
        self,
        channel_id: int,
        *,
        reliability: str = "lossy",
        priority: str = "normal",
        bitrate_in_kbps: int = DEFAULT_BITRATE_KBPS,
        participants: list[str] | None = None,
    ) -> DataChannelSender:
        if not MIN_CHANNEL_ID <= channel_id <= MAX_CHANNEL_ID:
            raise DataChannelError(f"channelId is from {MIN_CHANNEL_ID} to {MAX_CHANNEL_ID}.")
        if not 0 < bitrate_in_kbps <= MAX_BITRATE_KBPS:
            raise DataChannelError(f"bitrateInKbps is from 1 to {MAX_BITRATE_KBPS}.")
        return DataChannelSender(
            self._port,
            channel_id,
            DataReliability(reliability),
            DataPriority(priority),
            bitrate_in_kbps,
            participants,
        )

    def receive(self, frame: DataFrame) -> None:
        """A frame from a data channel (the node named the sender; in 1:1, the peer)."""
        sender = frame.sender or self._port.peer_id() or ""
        self._deliver(sender, frame.channel_id, frame.sequence, frame.payload)

    def relayed(self, sender: str, channel_id: int, sequence: int, data: str) -> None:
        """A message that came over the signaling relay."""
        try:
            payload = base64.b64decode(data, validate=True)
        except ValueError:
            return
        self._deliver(sender, channel_id, sequence, payload)

    def _deliver(self, sender: str, channel_id: int, sequence: int, payload: bytes) -> None:
        key = (sender, channel_id)
        if sequence == CLOSE_SEQUENCE:
            closed = self._receivers.pop(key, None)
            if closed is not None:
                closed.closed.set()
            return
        receiver = self._receivers.get(key)
        if receiver is None:
            receiver = self._receivers[key] = DataChannelReceiver(channel_id, sender)
            self.receivers.put_nowait(receiver)
        receiver.messages.put_nowait(DataChannelMessage(sequence, payload))
