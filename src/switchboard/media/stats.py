"""The SFU's running totals, read when metrics are scraped (never on the packet path).

    UdpTransport: received, sent, received_bytes, sent_bytes, send_drops (kept per packet);
        receive_drops (the kernel's count for its socket, asked when read)
    Forwarder: forwarded, retransmitted; its tracks' RFC 3550 receive statistics
        ─▶ MediaTotals.snapshot(calls) = what ended (retired) + what is live now

A transport or call that goes away adds its counts to ``retired`` first, so the totals only
grow (Prometheus counters) however calls come and go.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from switchboard.media.forwarder import Forwarder
from switchboard.media.transport import UdpTransport


@dataclass(slots=True)
class MediaCounters:
    packets_in: int = 0
    packets_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    send_drops: int = 0
    receive_drops: int = 0  # dropped by the kernel at our sockets: receive buffer full
    expected: int = 0  # RTP packets publishers sent us (by sequence numbers)
    lost: int = 0  # of those, never received
    forwarded: int = 0
    retransmitted: int = 0

    def add(self, other: MediaCounters) -> None:
        for field in fields(self):
            name = field.name
            setattr(self, name, getattr(self, name) + getattr(other, name))


def transport_counters(transport: UdpTransport) -> MediaCounters:
    return MediaCounters(
        packets_in=transport.received,
        packets_out=transport.sent,
        bytes_in=transport.received_bytes,
        bytes_out=transport.sent_bytes,
        send_drops=transport.send_drops,
        receive_drops=transport.receive_drops(),
    )


def forwarder_counters(forwarder: Forwarder) -> MediaCounters:
    expected, received = forwarder.retired_expected, forwarder.retired_received
    for track in forwarder.tracks():
        expected += track.expected()
        received += track.received
    return MediaCounters(
        expected=expected,
        lost=max(expected - received, 0),  # duplicates can make received exceed expected
        forwarded=forwarder.forwarded,
        retransmitted=forwarder.retransmitted,
    )


class MediaTotals:
    def __init__(self) -> None:
        self.retired = MediaCounters()

    def retire_transport(self, transport: UdpTransport) -> None:
        self.retired.add(transport_counters(transport))

    def retire_forwarder(self, forwarder: Forwarder) -> None:
        self.retired.add(forwarder_counters(forwarder))

    def snapshot(self, live: Iterable[tuple[Forwarder, Iterable[UdpTransport]]]) -> MediaCounters:
        total = MediaCounters()
        total.add(self.retired)
        for forwarder, transports in live:
            total.add(forwarder_counters(forwarder))
            for transport in transports:
                total.add(transport_counters(transport))
        return total
