"""The SFU's Prometheus series: its running totals (stats.py) and its calls, when scraped.

Bitrate is ``rate(switchboard_media_bytes_total[1m]) * 8``; loss is the ratio of
``switchboard_media_packets_lost_total`` to ``switchboard_media_packets_expected_total``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from switchboard.media.node import LocalMediaNode


class MediaNodeMetrics(Collector):
    def __init__(self, node: LocalMediaNode) -> None:
        self._node = node

    def collect(self) -> Iterator[Metric]:
        node = self._node
        counts = node.counters()
        yield _by_direction(
            "switchboard_media_packets",
            "UDP datagrams through the SFU's sockets (RTP, RTCP, ICE, DTLS), by direction.",
            counts.packets_in,
            counts.packets_out,
        )
        yield _by_direction(
            "switchboard_media_bytes",
            "UDP payload bytes through the SFU's sockets, by direction (rate × 8: bitrate).",
            counts.bytes_in,
            counts.bytes_out,
        )
        yield CounterMetricFamily(
            "switchboard_media_packets_expected",
            "RTP packets publishers sent the SFU, by their sequence numbers.",
            value=counts.expected,
        )
        yield CounterMetricFamily(
            "switchboard_media_packets_lost",
            "RTP packets publishers sent that never reached the SFU (RFC 3550 loss).",
            value=counts.lost,
        )
        yield CounterMetricFamily(
            "switchboard_media_send_drops",
            "Datagrams the SFU dropped because a socket's send buffer was full.",
            value=counts.send_drops,
        )
        yield CounterMetricFamily(
            "switchboard_media_receive_drops",
            "Datagrams the kernel dropped at the SFU's sockets, a receive buffer full.",
            value=counts.receive_drops,
        )
        yield CounterMetricFamily(
            "switchboard_media_packets_forwarded",
            "RTP packets the SFU forwarded to subscribers.",
            value=counts.forwarded,
        )
        yield CounterMetricFamily(
            "switchboard_media_packets_retransmitted",
            "RTP packets the SFU sent again on a subscriber's NACK.",
            value=counts.retransmitted,
        )
        yield GaugeMetricFamily(
            "switchboard_media_calls",
            "Calls with media on this node's SFU.",
            value=len(node.calls),
        )
        yield GaugeMetricFamily(
            "switchboard_media_participants",
            "Participants with a UDP transport on this node's SFU.",
            value=sum(len(call.transports) for call in node.calls.values()),
        )


def _by_direction(name: str, documentation: str, inbound: int, outbound: int) -> Metric:
    family = CounterMetricFamily(name, documentation, labels=("direction",))
    family.add_metric(("in",), inbound)
    family.add_metric(("out",), outbound)
    return family
