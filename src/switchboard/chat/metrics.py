"""Chat's Prometheus series, read from counters the service and the hub keep, when scraped."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from switchboard.chat.hub import ChatHub
from switchboard.chat.service import ChatService
from switchboard.chat.trouter.server import TrouterServer


class ChatMetrics(Collector):
    def __init__(self, service: ChatService, hub: ChatHub, trouter: TrouterServer) -> None:
        self._service = service
        self._hub = hub
        self._trouter = trouter

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "switchboard_chat_messages_sent",
            "Chat messages sent through this node (committed).",
            value=self._service.messages_sent,
        )
        trouter = self._trouter.registered_sockets()
        yield GaugeMetricFamily(
            "switchboard_chat_realtime_connections",
            "Real-time chat connections (WebSocket /chat/realtime) live on this node.",
            value=self._hub.connections() - trouter,
        )
        yield GaugeMetricFamily(
            "switchboard_chat_trouter_connections",
            "Registered sockets of ACS's real-time channel (the npm chat SDK) on this node.",
            value=trouter,
        )
