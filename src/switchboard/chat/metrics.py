"""Chat's Prometheus series, read from counters the service and the hub keep, when scraped."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from switchboard.chat.hub import ChatHub
from switchboard.chat.service import ChatService


class ChatMetrics(Collector):
    def __init__(self, service: ChatService, hub: ChatHub) -> None:
        self._service = service
        self._hub = hub

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "switchboard_chat_messages_sent",
            "Chat messages sent through this node (committed).",
            value=self._service.messages_sent,
        )
        yield GaugeMetricFamily(
            "switchboard_chat_realtime_connections",
            "Real-time chat connections (WebSocket /chat/realtime) live on this node.",
            value=self._hub.connections(),
        )
