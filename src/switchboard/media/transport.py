"""One participant's UDP endpoint: SRTP both ways, RTP/RTCP/handshake demultiplexing.

The asyncio glue around the sans-I/O ``Forwarder``. Each participant gets its own socket (its
own 5-tuple, as ICE will give it). The socket is read with ``loop.add_reader`` and
``recvfrom_into`` straight into the inbound SRTP buffer, up to ``BATCH`` datagrams per
wake-up: no ``bytes`` object per packet, unlike ``DatagramProtocol.datagram_received`` (see
docs/media.md for the measurement). Sends go straight to the non-blocking socket; a full
socket buffer drops the packet (counted), as any media router must rather than queue. Buffers
are asked past ``net.core.rmem_max`` where the process may (``size_socket_buffers``).

    UDP datagram ─▶ first byte 128–191: RTP/RTCP ─▶ SRTP(C) unprotect ─▶ forwarder
                   first byte 0–3 STUN, 20–63 DTLS ─▶ ``on_handshake`` (ICE/DTLS, later)
    forwarder ─send_rtp─▶ copy into the outbound buffer, rewrite header, protect, sendto

Before ICE exists the peer's address is latched: the source of the first packet that passes
SRTP authentication (only the holder of the key can produce one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

from switchboard.media.forwarder import Forwarder
from switchboard.media.srtp import AES128_CM_SHA1_80, SrtpContext, SrtpError, ffi, lib

logger = logging.getLogger(__name__)

BATCH = 64  # datagrams read per wake-up before yielding to the loop
SOCKET_BUFFER = 4 * 1024 * 1024
Address = tuple[str, int]
_pack_header = struct.Struct(">BHII").pack_into
_memmove = ffi.memmove
_srtp_protect = lib.srtp_protect
_srtp_unprotect = lib.srtp_unprotect
_monotonic = time.monotonic
# Linux's option numbers (the socket module does not name them); elsewhere none
_LINUX = sys.platform.startswith("linux")
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33) if _LINUX else None
_SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32) if _LINUX else None
_SO_MEMINFO = 55 if _LINUX else None  # struct sk_meminfo: 9 u32s, the last its drops
_meminfo = struct.Struct("9I")


def size_socket_buffers(sock: socket.socket, size: int) -> tuple[int, int]:
    """Ask for ``size`` bytes of receive and send buffer; the sizes the kernel granted.

    ``SO_RCVBUF``/``SO_SNDBUF`` are capped at ``net.core.rmem_max``/``wmem_max`` (often
    208 KiB: ~90 video packets, 30 ms of a busy socket). A process with CAP_NET_ADMIN (the
    node run as root, or given the capability) passes the cap with ``SO_RCVBUFFORCE``/
    ``SO_SNDBUFFORCE``; without it the capped size is what there is. Linux reports twice the
    size asked (its bookkeeping share), so a granted size below ``size`` means capped.
    """
    granted = []
    for force, option in (
        (_SO_RCVBUFFORCE, socket.SO_RCVBUF),
        (_SO_SNDBUFFORCE, socket.SO_SNDBUF),
    ):
        try:
            if force is None:
                raise OSError("no forced buffer sizes here")
            sock.setsockopt(socket.SOL_SOCKET, force, size)
        except OSError:  # EPERM without CAP_NET_ADMIN: the capped size is still usable
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, size)
        granted.append(sock.getsockopt(socket.SOL_SOCKET, option))
    return granted[0], granted[1]


class UdpTransport:
    """A ``PacketSink`` for the forwarder, and the reader of one participant's socket."""

    def __init__(
        self,
        participant_id: str,
        forwarder: Forwarder,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        on_handshake: Callable[[bytes, Address], None] | None = None,
    ) -> None:
        self.participant_id = participant_id
        self.forwarder = forwarder
        self.on_handshake = on_handshake
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.receive_buffer, self.send_buffer = size_socket_buffers(self.sock, SOCKET_BUFFER)
        self.sock.bind((host, port))
        self.local_address: Address = self.sock.getsockname()
        self.remote: Address | None = None
        self._inbound: SrtpContext | None = None
        self._outbound: SrtpContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.received = 0
        self.sent = 0
        self.received_bytes = 0  # UDP payload bytes, for the bitrate metrics
        self.sent_bytes = 0
        self.send_drops = 0
        self.auth_failures = 0
        self._drops_at_close = 0

    def set_keys(
        self, local_key: bytes, remote_key: bytes, profile: int = AES128_CM_SHA1_80
    ) -> None:
        """SRTP master keys + salts: ours encrypts what we send, the peer's what it sends."""
        self._outbound = SrtpContext(local_key, outbound=True, profile=profile)
        self._inbound = SrtpContext(remote_key, outbound=False, profile=profile)

    def set_remote(self, address: Address) -> None:
        self.remote = address

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.add_reader(self.sock.fileno(), self._on_readable)

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            self._drops_at_close = self.receive_drops()
        if self._loop is not None and self.sock.fileno() >= 0:
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()

    def receive_drops(self) -> int:
        """Datagrams the kernel dropped at this socket, its receive buffer full (the node fell
        behind): Linux's ``SO_MEMINFO``, read when asked (metrics), never per packet; 0
        elsewhere. Kept once the socket is closed."""
        if _SO_MEMINFO is None or self.sock.fileno() < 0:
            return self._drops_at_close
        try:
            info = self.sock.getsockopt(socket.SOL_SOCKET, _SO_MEMINFO, _meminfo.size)
        except OSError:
            return 0
        return int(_meminfo.unpack(info)[8])

    def send_raw(self, data: bytes, address: Address) -> None:
        """For ICE/DTLS: a datagram as it is."""
        self._send(data, address)

    # ── PacketSink ───────────────────────────────────────────────────────────────────

    def send_rtp(
        self,
        packet: bytes | bytearray | memoryview,
        length: int,
        marker_pt: int,
        seq: int,
        timestamp: int,
        ssrc: int,
    ) -> None:
        out = self._outbound
        remote = self.remote
        if out is None or remote is None:
            return
        _memmove(out.cdata, packet, length)
        _pack_header(out.buffer, 1, marker_pt, seq, timestamp, ssrc)
        size = out.size
        size[0] = length
        if _srtp_protect(out.srtp, out.cdata, size):
            return
        try:
            self.sock.sendto(out.buffer[: size[0]], remote)
            self.sent += 1
            self.sent_bytes += size[0]
        except BlockingIOError:
            self.send_drops += 1

    def send_rtcp(self, data: bytes) -> None:
        if self._outbound is None or self.remote is None:
            return
        self._send(self._outbound.protect_rtcp(data), self.remote)

    def _send(self, data: bytes | memoryview, address: Address) -> None:
        try:
            self.sock.sendto(data, address)
            self.sent += 1
            self.sent_bytes += len(data)
        except BlockingIOError:
            self.send_drops += 1
        except OSError as error:
            logger.debug(
                "participant %s: send to %s failed: %s", self.participant_id, address, error
            )

    # ── receiving ────────────────────────────────────────────────────────────────────

    def _on_readable(self) -> None:
        inbound = self._inbound
        recvfrom_into = self.sock.recvfrom_into
        forwarder = self.forwarder
        if inbound is None:
            self._drain_without_keys()
            return
        buffer = inbound.buffer
        cdata = inbound.cdata
        srtp: Any = inbound.srtp
        size = inbound.size
        for _ in range(BATCH):
            try:
                length, address = recvfrom_into(buffer)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                continue
            self.received += 1
            self.received_bytes += length
            first = buffer[0]
            if not 128 <= first < 192:
                self._handshake(bytes(buffer[:length]), address)
                continue
            if length >= 8 and 192 <= buffer[1] <= 223:
                self._receive_rtcp(inbound, bytes(buffer[:length]), address)
                continue
            if length < 12:
                continue
            size[0] = length
            if _srtp_unprotect(srtp, cdata, size):
                self.auth_failures += 1
                continue
            if address != self.remote:
                self.remote = address
            forwarder.receive_rtp(buffer, size[0], _monotonic())

    def _receive_rtcp(self, inbound: SrtpContext, data: bytes, address: Address) -> None:
        try:
            plain = inbound.unprotect_rtcp(data)
        except SrtpError:
            self.auth_failures += 1
            return
        if address != self.remote:
            self.remote = address
        self.forwarder.receive_rtcp(self.participant_id, plain, _monotonic())

    def _handshake(self, data: bytes, address: Address) -> None:
        first = data[0] if data else 255
        if self.on_handshake is not None and (first < 4 or 20 <= first < 64):
            self.on_handshake(data, address)

    def _drain_without_keys(self) -> None:
        for _ in range(BATCH):
            try:
                data, address = self.sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            self.received += 1
            self.received_bytes += len(data)
            self._handshake(data, address)


MAX_DATAGRAM = 2048
