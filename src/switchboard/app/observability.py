"""What ``/metrics`` reports: each domain's collector, registered on the node's ``Metrics``.

    Metrics (http/metrics.py): HTTP requests ── built-in
      + events/ webhook deliveries, automation/ callbacks ── registered where they are built
      + DatabaseMetrics        storage/metrics.py    pool in use / idle / waiting, SQLite waits
      + LoopLagMonitor         http/loop_lag.py      event-loop lag (a task in the upkeep scope)
      + ChatMetrics            chat/metrics.py       messages sent, real-time connections
      + SmsQueueMetrics        sms/metrics.py        queue depth and oldest age per carrier (a
                                                     query, sampled before each scrape)
      + CallMetrics            calling/metrics.py    active, started, ended by reason, setup
      + calling devices        (a gauge)             signaling devices registered here
      + MediaNodeMetrics       media/metrics.py      SFU packets, bytes, loss, calls
      + TurnMetrics            traversal/metrics.py  credentials issued, TURN available
      + SipTrunkMetrics        gateways/sip/         each trunk up/down and its active calls
                                                     (of the carrier running when scraped)

Domains know nothing of HTTP: each collector reads counters its domain keeps anyway, only
when scraped (docs/observability.md lists every series).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from switchboard.app.siprouting import SipTrunking
from switchboard.calling.component import CallingComponent
from switchboard.chat.hub import ChatHub
from switchboard.chat.metrics import ChatMetrics
from switchboard.chat.service import ChatService
from switchboard.core.clock import Clock
from switchboard.gateways.sip.metrics import SipTrunkMetrics
from switchboard.http.loop_lag import LoopLagMonitor
from switchboard.http.metrics import Metrics
from switchboard.media.metrics import MediaNodeMetrics
from switchboard.media.node import LocalMediaNode, MediaNode
from switchboard.sms.component import SmsComponent
from switchboard.sms.metrics import SmsQueueMetrics
from switchboard.storage.database import Database
from switchboard.storage.metrics import DatabaseMetrics
from switchboard.traversal.metrics import TurnMetrics
from switchboard.traversal.service import RelayService


class _Gauge(Collector):
    """One unlabelled gauge read from a function when scraped."""

    def __init__(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        self._name, self._documentation, self._read = name, documentation, read

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self._name, self._documentation, value=self._read())


@dataclass(frozen=True, slots=True)
class Observed:
    """The node's parts that metrics read."""

    database: Database
    chat: ChatService
    chat_hub: ChatHub
    sms: SmsComponent
    calling: CallingComponent
    media: MediaNode
    relay: RelayService
    sip: SipTrunking | None
    clock: Clock


def register_metrics(metrics: Metrics, parts: Observed) -> LoopLagMonitor:
    """Register every domain's collector; the loop-lag monitor is returned for its owner to
    run (``monitor.run()`` in a task scope)."""
    metrics.add(DatabaseMetrics(parts.database))
    lag = LoopLagMonitor()
    metrics.add(lag)
    metrics.add(ChatMetrics(parts.chat, parts.chat_hub))
    sms = SmsQueueMetrics(parts.sms.store, parts.clock, parts.sms.carrier_names)
    metrics.add(sms, sms.sample)
    metrics.add(parts.calling.metrics)
    hub = parts.calling.service.hub
    metrics.add(
        _Gauge(
            "switchboard_calling_devices",
            "Calling devices registered on this node (signaling sockets, and those in grace).",
            lambda: len(hub),
        )
    )
    if isinstance(parts.media, LocalMediaNode):
        metrics.add(MediaNodeMetrics(parts.media))
    metrics.add(TurnMetrics(parts.relay))
    metrics.add(_LiveSipTrunkMetrics(parts.sip))
    return lag


class _LiveSipTrunkMetrics(Collector):
    """SipTrunkMetrics over the carrier the node has when scraped (the SIP gateway starts
    when the routing table first has a trunk, possibly after the node did)."""

    def __init__(self, trunking: SipTrunking | None) -> None:
        self._trunking = trunking

    def collect(self) -> Iterator[Metric]:
        carrier = self._trunking.carrier if self._trunking is not None else None
        yield from SipTrunkMetrics(carrier).collect()
