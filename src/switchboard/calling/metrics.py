"""Calling's Prometheus series, from the lifecycle facts the calls already produce.

    TwoPartyCalls / ConferenceHost ─▶ lifecycle facts ─▶ CallMetrics.offer (count, time)
                                                        └▶ the Event Grid sink (unchanged)

``CallMetrics`` is a ``CallEventSink`` in front of the real one: it never blocks and keeps a
few integers and one set of live call ids. Facts come from the node that owns each call, so
each node counts its own calls and a sum over nodes counts each call once.

Setup latency is a two-party call's time from ``startCall`` (CallStarted) until the callee
joined (their ParticipantAdded); group, Room and server calls have no setup of that kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from switchboard.calling.lifecycle import Lifecycle, LifecycleKind
from switchboard.calling.twoparty.calls import CallEventSink
from switchboard.core.histogram import Histogram

SETUP_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


def _kind(fact: Lifecycle) -> str:
    return "two_party" if fact.two_party else "group"


class CallMetrics(Collector):
    """A CallEventSink that counts, then hands every fact on to ``inner``."""

    def __init__(self, inner: CallEventSink | None) -> None:
        self._inner = inner
        self._active: dict[str, str] = {}  # call id → kind
        self._ringing: dict[str, tuple[float, str]] = {}  # 1:1 call id → (started at, caller)
        self._started: dict[str, int] = {}  # kind → calls started
        self._ended: dict[tuple[str, int, int], int] = {}  # (kind, code, subcode) → calls
        self._setups = Histogram(SETUP_BUCKETS)

    def offer(self, events: Sequence[Lifecycle]) -> None:
        for fact in events:
            if fact.kind is LifecycleKind.CALL_STARTED:
                kind = _kind(fact)
                self._active[fact.call_id] = kind
                self._started[kind] = self._started.get(kind, 0) + 1
                if fact.two_party:
                    self._ringing[fact.call_id] = (fact.at, fact.started_by)
            elif fact.kind is LifecycleKind.PARTICIPANT_ADDED:
                ringing = self._ringing.get(fact.call_id)
                joined = fact.participant
                if ringing is not None and joined is not None and joined.user_id != ringing[1]:
                    del self._ringing[fact.call_id]
                    self._setups.observe(max(fact.at - ringing[0], 0.0))
            elif fact.kind is LifecycleKind.CALL_ENDED:
                kind = self._active.pop(fact.call_id, _kind(fact))
                self._ringing.pop(fact.call_id, None)
                reason = fact.reason
                key = (kind, reason.code if reason else 0, reason.sub_code if reason else 0)
                self._ended[key] = self._ended.get(key, 0) + 1
        if self._inner is not None:
            self._inner.offer(events)

    def collect(self) -> Iterator[Metric]:
        active = GaugeMetricFamily(
            "switchboard_calls_active",
            "Calls in progress owned by this node (ringing or connected), by kind.",
            labels=("kind",),
        )
        for kind in ("two_party", "group"):
            active.add_metric((kind,), sum(1 for k in self._active.values() if k == kind))
        yield active
        started = CounterMetricFamily(
            "switchboard_calls_started",
            "Calls started (two_party: startCall; group: the first member joined), by kind.",
            labels=("kind",),
        )
        for kind, count in sorted(self._started.items()):
            started.add_metric((kind,), count)
        yield started
        ended = CounterMetricFamily(
            "switchboard_calls_ended",
            "Calls ended, by kind and ACS end reason code and subcode (0/0: hung up).",
            labels=("kind", "code", "subcode"),
        )
        for (kind, code, subcode), count in sorted(self._ended.items()):
            ended.add_metric((kind, str(code), str(subcode)), count)
        yield ended
        yield HistogramMetricFamily(
            "switchboard_call_setup_seconds",
            "Two-party calls: from startCall until the callee joined.",
            buckets=self._setups.cumulative(),
            sum_value=self._setups.total,
        )
