"""SMPP 3.4 framing: the 16-octet PDU header, ``PduFramer`` and ``SmppParseError``.

Sans-I/O. SMPP has no delimiter: every PDU starts with its own length, so a TCP stream is cut
into PDUs by reading that length (``PduFramer``); pdu.py then decodes each whole frame.

    TCP bytes ──PduFramer.feed()──▶ whole frames (header + body) ──pdu.decode()──▶ Pdu
"""

from __future__ import annotations

import struct

from switchboard.gateways.smpp.commands import Status

HEADER = struct.Struct(">IIII")  # command_length, command_id, command_status, sequence_number
HEADER_LENGTH = HEADER.size
# The largest PDU we accept: a 64 KiB message_payload TLV plus headers; anything larger
# is a broken stream (or an attack), not a message.
MAX_PDU_LENGTH = 70_000


class SmppParseError(Exception):
    """Bytes that are not a valid PDU. ``command_id`` and ``sequence_number`` are set when
    the header was readable, so the session can answer a request with generic_nack
    ``status``."""

    def __init__(
        self,
        message: str,
        *,
        command_id: int | None = None,
        sequence_number: int | None = None,
        status: int = Status.RSYSERR,
    ) -> None:
        super().__init__(message)
        self.command_id = command_id
        self.sequence_number = sequence_number
        self.status = status


class PduFramer:
    """Splits a TCP byte stream into whole PDUs by their command_length.

    A command_length below 16 or above ``max_length`` means we lost the framing; there is
    no way to find the next PDU, so the framer raises and the connection must be dropped.
    """

    def __init__(self, max_length: int = MAX_PDU_LENGTH) -> None:
        self._buffer = bytearray()
        self._max = max_length

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames: list[bytes] = []
        while len(self._buffer) >= 4:
            (length,) = struct.unpack_from(">I", self._buffer)
            if not HEADER_LENGTH <= length <= self._max:
                raise SmppParseError(f"impossible command_length {length}")
            if len(self._buffer) < length:
                break
            frames.append(bytes(self._buffer[:length]))
            del self._buffer[:length]
        return frames
