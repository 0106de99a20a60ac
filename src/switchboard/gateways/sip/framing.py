"""SIP over a stream (TCP, RFC 3261 §18.3), sans-I/O: bytes as they arrive ─▶ whole messages.

feed(bytes) ─▶ every complete message so far (its bytes, for parse_message)
    CRLFs between messages (keep-alives, RFC 5626) are skipped
    a message ends Content-Length bytes after its blank line (no header: no body)
    a head longer than MAX_MESSAGE_BYTES, or a bad Content-Length ─▶ SipParseError
        (the stream cannot be resynchronised: the connection is closed)
"""

from __future__ import annotations

import re

from switchboard.gateways.sip.errors import SipParseError
from switchboard.gateways.sip.message import MAX_MESSAGE_BYTES

_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)


class SipStreamFramer:
    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        messages: list[bytes] = []
        while True:
            while self._buffer[:2] == b"\r\n":
                del self._buffer[:2]
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_MESSAGE_BYTES:
                    raise SipParseError("message head too long")
                return messages
            head = bytes(self._buffer[:end])
            match = _LENGTH.search(head)
            length = 0
            if match is not None:
                text = match.group(1).strip()
                if not text.isdigit() or len(text) > 6:
                    raise SipParseError("bad Content-Length on a stream")
                length = int(text)
            total = end + 4 + length
            if total > MAX_MESSAGE_BYTES:
                raise SipParseError("message too large")
            if len(self._buffer) < total:
                return messages
            messages.append(bytes(self._buffer[:total]))
            del self._buffer[:total]
