"""The SFU benchmarks' synthetic participant: SRTP publisher of audio + video, timing subscriber.

Used against our media node (bench/sfu.py) and against Janus (bench/janus.py). A publisher
writes ``perf_counter()`` into every packet twice: in a one-byte RTP header extension (SRTP
leaves headers in the clear and our node forwards them as they are, so a subscriber reads the
send time without decrypting) and at the payload's end (for an SFU that rewrites header
extensions, where every packet is decrypted). A publisher counts what it sends inside the
measured window, a subscriber what it receives that was sent inside it.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import struct
import time
from array import array
from collections.abc import Sequence

from switchboard.media import rtcp
from switchboard.media.srtp import SrtpContext, ffi
from switchboard.media.transport import SOCKET_BUFFER, size_socket_buffers

AUDIO_PT, VIDEO_PT, LEVEL_ID, STAMP_ID = 111, 96, 1, 2
AUDIO_PAYLOAD, VIDEO_PACKET = 80, 1100
# the send time rides in a one-byte header extension (RFC 8285): SRTP leaves the header in
# the clear and the node forwards extensions as they are, so a subscriber reads it without
# decrypting (it decrypts one packet in --verify-every, to check the node's SRTP)
#   audio: BE DE 00 03 | 1:level | 2:stamp(8) | pad      video: BE DE 00 03 | 2:stamp(8) | pad³
AUDIO_STAMP_AT, VIDEO_STAMP_AT, VP8_AT = 19, 17, 28
_header = struct.Struct(">BBHII")
_stamp = struct.Struct("<d")
_INF = float("inf")

# ── synthetic participants ────────────────────────────────────────────────────────────


class Peer:
    """One participant: publishes audio + video, receives and times everybody else's."""

    def __init__(
        self,
        index: int,
        node_address: tuple[str, int],
        loud: bool,
        plain: bool,
        sock: socket.socket | None = None,
    ) -> None:
        self.id = f"p{index}"
        self.node = node_address
        self.plain = plain  # the ceiling: no SRTP either way
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            size_socket_buffers(sock, SOCKET_BUFFER)
            sock.setblocking(False)
            sock.bind(("127.0.0.1", 0))
        self.sock = sock
        self.port: int = self.sock.getsockname()[1]
        self.stamp_in_payload = False  # an SFU that rewrites header extensions (Janus)
        self.my_key, self.node_key = os.urandom(30), os.urandom(30)
        self.tx = SrtpContext(self.my_key, outbound=True)
        self.rx = SrtpContext(self.node_key, outbound=False)
        self.audio_ssrc, self.video_ssrc = random.getrandbits(32), random.getrandbits(32)
        self.seq = {self.audio_ssrc: random.getrandbits(16), self.video_ssrc: 0}
        self.audio_ts, self.video_ts = random.getrandbits(32), random.getrandbits(32)
        self.level = 20 if loud else 110
        self.keyframe_wanted = True
        self.next_audio = self.next_video = 0.0
        self.window = (_INF, _INF)  # perf_counter bounds of the measured window
        self.sent = {self.audio_ssrc: 0, self.video_ssrc: 0}  # sent inside the window
        self.send_blocked = 0
        self.verify_every = 1
        self.auth_failures = 0
        self.received = 0  # everything decrypted
        self.received_in_window = 0  # sent inside the window, whenever it arrived
        self.latencies = array("d")

    def close(self) -> None:
        self.sock.close()

    def set_keys(self, local: bytes, remote: bytes, profile: int) -> None:
        """DTLS-SRTP keys (bench/janus.py): ours protect what we send."""
        self.tx = SrtpContext(local, outbound=True, profile=profile)
        self.rx = SrtpContext(remote, outbound=False, profile=profile)

    def _send(self, packet: bytes | bytearray, ssrc: int, marker_pt: int, ts: int) -> None:
        tx = self.tx
        ffi.memmove(tx.cdata, packet, len(packet))
        seq = self.seq[ssrc] = (self.seq[ssrc] + 1) & 0xFFFF
        _header.pack_into(tx.buffer, 0, 0x90, marker_pt, seq, ts, ssrc)
        now = time.perf_counter()
        _stamp.pack_into(
            tx.buffer, AUDIO_STAMP_AT if marker_pt == AUDIO_PT else VIDEO_STAMP_AT, now
        )
        _stamp.pack_into(tx.buffer, len(packet) - 8, now)  # and at the payload's end
        size = len(packet) if self.plain else tx.protect_in_place(len(packet))
        try:
            self.sock.sendto(tx.buffer[:size], self.node)
        except BlockingIOError:
            self.send_blocked += 1
            return
        start, end = self.window
        if start <= now < end:
            self.sent[ssrc] += 1

    def send_audio(self, template: bytearray) -> None:
        template[12:18] = bytes((0xBE, 0xDE, 0, 3, LEVEL_ID << 4, self.level))
        template[18] = STAMP_ID << 4 | 7
        self._send(template, self.audio_ssrc, AUDIO_PT, self.audio_ts)
        self.audio_ts = (self.audio_ts + 960) & 0xFFFFFFFF

    def send_frame(self, template: bytearray, packets: int) -> None:
        key = self.keyframe_wanted
        self.keyframe_wanted = False
        for i in range(packets):
            template[12:17] = bytes((0xBE, 0xDE, 0, 3, STAMP_ID << 4 | 7))
            template[VP8_AT] = 0x10 if i == 0 else 0x00  # S bit on the frame's first packet
            template[VP8_AT + 1] = 0x00 if key else 0x01  # VP8 frame tag: P = 0: key frame
            last = i == packets - 1
            self._send(template, self.video_ssrc, VIDEO_PT | (0x80 if last else 0), self.video_ts)
        self.video_ts = (self.video_ts + 3000) & 0xFFFFFFFF

    def on_readable(self) -> None:
        rx = self.rx
        buffer, recv = rx.buffer, self.sock.recv_into
        unprotect, latencies = rx.unprotect_in_place, self.latencies
        perf, stamp_of = time.perf_counter, _stamp.unpack_from
        start, end = self.window
        every = 0 if self.plain else self.verify_every
        if self.stamp_in_payload:
            self._read_all_decrypted()
            return
        while True:
            try:
                length = recv(buffer)
            except BlockingIOError:
                return
            second = buffer[1]
            if 192 <= second <= 223:
                if every:
                    self._on_rtcp(bytes(buffer[:length]))
                continue
            self.received += 1
            if every and self.received % every == 0 and unprotect(length) < 0:
                self.auth_failures += 1
                continue
            sent_at = stamp_of(
                buffer, AUDIO_STAMP_AT if second & 0x7F == AUDIO_PT else VIDEO_STAMP_AT
            )[0]
            if start <= sent_at < end:
                self.received_in_window += 1
                latencies.append(perf() - sent_at)

    def _read_all_decrypted(self) -> None:
        """Decrypt every packet, the stamp at the payload's end (extensions rewritten)."""
        buffer, recv = self.rx.buffer, self.sock.recv_into
        unprotect, latencies = self.rx.unprotect_in_place, self.latencies
        perf, stamp_of = time.perf_counter, _stamp.unpack_from
        start, end = self.window
        while True:
            try:
                length = recv(buffer)
            except BlockingIOError:
                return
            if buffer[0] < 128 or buffer[0] > 191:
                continue  # STUN (consent, keepalive) or DTLS after the handshake
            if 192 <= buffer[1] <= 223:
                self._on_rtcp(bytes(buffer[:length]))
                continue
            length = unprotect(length)
            if length < 0:
                self.auth_failures += 1
                continue
            self.received += 1
            sent_at = stamp_of(buffer, length - 8)[0]
            if start <= sent_at < end:
                self.received_in_window += 1
                latencies.append(perf() - sent_at)

    def _on_rtcp(self, data: bytes) -> None:
        try:
            packets = rtcp.parse_rtcp(self.rx.unprotect_rtcp(data))
        except Exception:
            return
        for packet in packets:
            if isinstance(packet, rtcp.PictureLossIndication | rtcp.FullIntraRequest):
                self.keyframe_wanted = True


def frame_packets(video_kbps: int) -> int:
    return max(1, round(video_kbps * 1000 / 8 / 30 / VIDEO_PACKET))


async def publish_forever(peers: Sequence[Peer], video_kbps: int) -> None:
    audio = bytearray(20 + AUDIO_PAYLOAD)
    video = bytearray(VIDEO_PACKET)
    per_frame = frame_packets(video_kbps)
    now = time.perf_counter()
    for peer in peers:
        peer.next_audio = now + random.random() * 0.02
        peer.next_video = now + random.random() / 30
    while True:
        now = time.perf_counter()
        for peer in peers:
            while peer.next_audio <= now:
                peer.send_audio(audio)
                peer.next_audio += 0.02
            while peer.next_video <= now:
                peer.send_frame(video, per_frame)
                peer.next_video += 1 / 30
        await asyncio.sleep(0.004)
