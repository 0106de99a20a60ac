"""RtcpReporter: one SIP call's RTCP (RFC 3550 §6), sans-I/O: what we send, what we hear.

    sent(rtp bytes, timestamp) / received(ssrc, seq, rtp timestamp, arrival) as RTP passes
    report(now) ─▶ a compound packet: SR (we sent since the last one) or RR, with one report
        block for the carrier's stream (fraction and cumulative loss, highest sequence,
        interarrival jitter, LSR/DLSR), then SDES CNAME ─▶ the carrier's RTCP port
    receive(data, now) ◀─ the carrier's SR/RR: its block about our stream (its loss and
        jitter: ``stats``), and its SR's NTP time for our next LSR/DLSR; garbage is ignored

Sent every ``INTERVAL`` seconds, randomised ×0.5–1.5 (§6.3.1); ``stats`` is what metrics
read (not exported yet).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from switchboard.media.rtcp import (
    ReceiverReport,
    ReportBlock,
    SenderReport,
    SourceDescription,
    compound,
    parse_rtcp,
)
from switchboard.media.rtp import RtpParseError

INTERVAL = 5.0
CLOCK_RATE = 8000  # G.711
NTP_EPOCH = 2_208_988_800  # 1900 → 1970, seconds


@dataclass(slots=True)
class RtcpStats:
    """Both directions of one call's RTP, as RTCP tells them."""

    packets_received: int = 0
    packets_lost: int = 0  # by us (expected − received)
    jitter_ms: float = 0.0  # of what we receive
    reports_sent: int = 0
    reports_received: int = 0
    remote_fraction_lost: float = 0.0  # what the carrier lost of ours, 0–1, last report
    remote_packets_lost: int = 0
    remote_jitter_ms: float = 0.0


class RtcpReporter:
    def __init__(self, ssrc: int, cname: str, *, interval: float = INTERVAL) -> None:
        self.ssrc = ssrc
        self.stats = RtcpStats()
        self._cname = cname.encode()[:255]
        self._interval = interval
        self._sent_packets = 0
        self._sent_octets = 0
        self._last_rtp_ts = 0
        self._sent_since_report = False
        self._remote_ssrc: int | None = None
        self._base_seq = 0
        self._max_seq = 0
        self._cycles = 0
        self._expected_prior = 0
        self._received_prior = 0
        self._transit: float | None = None
        self._jitter = 0.0  # in timestamp units
        self._their_sr: tuple[int, float] | None = None  # (middle 32 bits of NTP, arrival)
        self._next: float | None = None

    # ── RTP as it passes ─────────────────────────────────────────────────────────────

    def sent(self, payload_bytes: int, rtp_timestamp: int) -> None:
        self._sent_packets += 1
        self._sent_octets += payload_bytes
        self._last_rtp_ts = rtp_timestamp
        self._sent_since_report = True

    def received(self, ssrc: int, seq: int, rtp_timestamp: int, arrival: float) -> None:
        stats = self.stats
        if ssrc != self._remote_ssrc:  # a new source: its counts start afresh
            self._remote_ssrc = ssrc
            self._base_seq = self._max_seq = seq
            self._cycles = self._expected_prior = self._received_prior = 0
            stats.packets_received = 0
            self._transit = None
            self._jitter = 0.0
        elif 0 < (seq - self._max_seq) & 0xFFFF < 0x8000:
            if seq < self._max_seq:
                self._cycles += 0x10000
            self._max_seq = seq
        stats.packets_received += 1
        transit = arrival * CLOCK_RATE - rtp_timestamp  # RFC 3550 A.8
        if self._transit is not None:
            d = abs(transit - self._transit)
            self._jitter += (d - self._jitter) / 16
        self._transit = transit
        stats.jitter_ms = self._jitter * 1000 / CLOCK_RATE
        stats.packets_lost = max(0, self._expected() - stats.packets_received)

    # ── reports ──────────────────────────────────────────────────────────────────────

    def due(self, now: float) -> bool:
        if self._next is None:
            self._next = now + self._interval * random.uniform(0.5, 1.5)
        return now >= self._next

    def report(self, now: float, wall: float | None = None) -> bytes:
        """The compound packet to send now (``wall``: Unix time, for the SR's NTP stamp)."""
        self._next = now + self._interval * random.uniform(0.5, 1.5)
        blocks = [block] if (block := self._block(now)) is not None else []
        if self._sent_since_report:
            ntp = _ntp(time.time() if wall is None else wall)
            first: SenderReport | ReceiverReport = SenderReport(
                self.ssrc,
                ntp,
                self._last_rtp_ts,
                self._sent_packets,
                self._sent_octets,
                blocks,
            )
        else:
            first = ReceiverReport(self.ssrc, blocks)
        self._sent_since_report = False
        self.stats.reports_sent += 1
        cname = SourceDescription([(self.ssrc, [(1, self._cname)])])
        return compound([first, cname])

    def receive(self, data: bytes, now: float) -> None:
        try:
            packets = parse_rtcp(data)
        except RtpParseError:
            return
        stats = self.stats
        for packet in packets:
            if isinstance(packet, SenderReport):
                self._their_sr = ((packet.ntp_timestamp >> 16) & 0xFFFFFFFF, now)
            if isinstance(packet, SenderReport | ReceiverReport):
                stats.reports_received += 1
                for block in packet.reports:
                    if block.ssrc == self.ssrc:
                        stats.remote_fraction_lost = block.fraction_lost / 256
                        stats.remote_packets_lost = block.packets_lost
                        stats.remote_jitter_ms = block.jitter * 1000 / CLOCK_RATE

    def _expected(self) -> int:
        return self._cycles + self._max_seq - self._base_seq + 1

    def _block(self, now: float) -> ReportBlock | None:
        if self._remote_ssrc is None:
            return None
        expected = self._expected()
        received = self.stats.packets_received
        expected_interval = expected - self._expected_prior
        lost_interval = expected_interval - (received - self._received_prior)
        self._expected_prior, self._received_prior = expected, received
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        lsr, dlsr = 0, 0
        if self._their_sr is not None:
            lsr = self._their_sr[0]
            dlsr = int((now - self._their_sr[1]) * 65536) & 0xFFFFFFFF
        return ReportBlock(
            self._remote_ssrc,
            fraction,
            max(-0x800000, min(0x7FFFFF, expected - received)),
            (self._cycles + self._max_seq) & 0xFFFFFFFF,
            int(self._jitter),
            lsr,
            dlsr,
        )


def _ntp(unix: float) -> int:
    seconds = int(unix) + NTP_EPOCH
    fraction = int((unix % 1) * (1 << 32))
    return ((seconds & 0xFFFFFFFF) << 32) | fraction
