"""N concurrent mixed-audio recordings on one media node, each of a call with two talkers.

    python -m bench.recording [--recordings 50] [--seconds 20] [--chunk-seconds 10] [--cpu 0]
                              [--format wav|mp3] [--json]

Everything runs in one process on one core (``--cpu``): the SFU (``LocalMediaNode``), per call
two talkers (``LocalLeg``s sending one pre-encoded Opus tone frame every 20 ms, as cached
prompts are sent) and the ``RecordingService`` recording it, mixed, into a ``FileBlobStore``
in a temporary directory (chunks encoded in a worker thread and fsynced).

Figures:
- ``cpu``: the process's share of one core over the measured window (threads included);
- ``late ticks``: 20 ms recorder ticks run late in catch-up (the core saturated);
- ``recorded_ratio``: recorded audio ÷ (recordings × wall time) after the stop: 1.0 means no
  audio was lost; ``chunks``: chunk files written;
- ``per_core``: recordings one core could hold at this cost (recordings ÷ cpu share);
- ceiling (the same run, the same talkers): a plain ``LocalLeg`` per call decoding both
  talkers' Opus (``listen_all``) and nothing else — the forwarding and decoding a recorder
  cannot avoid; the difference is the recorder's own cost (mixing, encoding, storage).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import uvloop

from bench.window import measured_window
from switchboard.automation.ports import CallbackData
from switchboard.core.clock import SystemClock
from switchboard.core.events import IntegrationEvent
from switchboard.media.endpoint.ticker import EndpointTicker
from switchboard.media.local_leg import LocalLeg
from switchboard.media.node import LocalMediaNode
from switchboard.media.opus import OpusEncoder
from switchboard.recording.models import (
    RecordingChannel,
    RecordingContent,
    RecordingFormat,
    RecordingOptions,
)
from switchboard.recording.ports import ConnectedCall
from switchboard.recording.service import RecordingLinks, RecordingService, RecordingTarget
from switchboard.storage.blobs import FileBlobStore

TONES = (440.0, 700.0)


def tone_payload(frequency: float) -> bytes:
    """One 20 ms Opus frame of a tone (the second one encoded: past the codec's start-up)."""
    encoder = OpusEncoder()
    t = np.arange(960) / 48_000
    frame = (np.sin(2 * np.pi * frequency * t) * 8000).astype("<i2").tobytes()
    encoder.encode(frame)
    return encoder.encode(frame)


@dataclass
class Talker:
    leg: LocalLeg
    payload: bytes

    def tick(self) -> None:
        self.leg.send_encoded(self.payload, 30)


class HereAll:
    def runs_here(self, call_id: str) -> bool:
        return True

    def raw_id(self, call_id: str, participant_id: str) -> str | None:
        return f"8:acs:{participant_id}"


class NoConnections:
    async def call_of(self, call_connection_id: str) -> ConnectedCall:
        raise AssertionError("the benchmark records by call id")


class NoCallbacks:
    async def enqueue(
        self, call_connection_id: str, url: str, events: Sequence[CallbackData]
    ) -> None:
        return None


class AnyUrl:
    async def check_callback_uri(self, url: str) -> None:
        return None


class CountedEvents:
    def __init__(self) -> None:
        self.events: list[IntegrationEvent] = []

    async def publish(self, event: IntegrationEvent) -> None:
        self.events.append(event)


async def talkers(node: LocalMediaNode, ticker: EndpointTicker, calls: int) -> None:
    payloads = [tone_payload(f) for f in TONES]
    for index in range(calls):
        call_id = f"group:bench-{index}"
        for n, payload in enumerate(payloads):
            ticker.add(Talker(await node.add_local_participant(call_id, f"p{n}"), payload))


async def run(
    recordings: int, seconds: float, chunk_seconds: float, format_: RecordingFormat, root: Path
) -> dict[str, float]:
    node = LocalMediaNode(host="127.0.0.1")
    await node.start()
    ticker = EndpointTicker()
    await ticker.start()
    await talkers(node, ticker, recordings)
    events = CountedEvents()
    service = RecordingService(
        FileBlobStore(root),
        node,
        HereAll(),
        NoConnections(),
        NoCallbacks(),
        AnyUrl(),
        events,
        RecordingLinks(lambda document: f"https://bench/v1/objects/{document}"),
        SystemClock(),
        node_id="bench",
        chunk_seconds=chunk_seconds,
    )
    await service.start()
    options = RecordingOptions(RecordingContent.AUDIO, RecordingChannel.MIXED, format_).check()
    started = [
        await service.start_recording(RecordingTarget(call_id=f"group:bench-{i}"), options)
        for i in range(recordings)
    ]
    await asyncio.sleep(1.0)
    window = await measured_window(seconds, lambda: service.late_ticks)
    stopping_at = time.time()
    lasted = sum(stopping_at - m.started for m in started)  # wall time each ran, to the stop
    await asyncio.gather(*(service.stop_recording(m.recording_id) for m in started))
    stored = [await service.get(m.recording_id) for m in started]  # stored once stop returns
    recorded = sum(m.recorded_ms for m in stored)
    chunks = sum(len(m.chunks) for m in stored)
    await service.stop()
    await ticker.stop()
    await node.stop()
    return {
        "recordings": recordings,
        "cpu_share": window.cpu_share,
        "late_ticks": window.late_ticks,
        "recorded_ratio": recorded / 1000 / lasted,
        "chunks": chunks,
        "file_events": len(events.events),
        "per_core": recordings / window.cpu_share,
    }


async def ceiling(calls: int, seconds: float) -> dict[str, float]:
    node = LocalMediaNode(host="127.0.0.1")
    await node.start()
    ticker = EndpointTicker()
    await ticker.start()
    await talkers(node, ticker, calls)
    for index in range(calls):
        listener = await node.add_local_participant(f"group:bench-{index}", "listener")
        listener.listen_all(lambda publisher, pcm: None)
    await asyncio.sleep(1.0)
    window = await measured_window(seconds, lambda: ticker.late_ticks)
    await ticker.stop()
    await node.stop()
    return {"calls": calls, "cpu_share": window.cpu_share, "late_ticks": window.late_ticks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--chunk-seconds", type=float, default=10.0)
    parser.add_argument("--format", choices=["wav", "mp3"], default="wav")
    parser.add_argument("--cpu", type=int, default=None, help="pin to this core")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    with tempfile.TemporaryDirectory(prefix="bench-recording-") as root:
        measured = uvloop.run(
            run(
                args.recordings,
                args.seconds,
                args.chunk_seconds,
                RecordingFormat(args.format),
                Path(root),
            )
        )
    reference = uvloop.run(ceiling(args.recordings, min(args.seconds, 10.0)))
    if args.json:
        print(json.dumps({"recording": measured, "ceiling": reference}))
        return
    print(
        f"mixed {args.format} recordings: {args.recordings} on one core, "
        f"{args.seconds:g} s measured, {args.chunk_seconds:g} s chunks"
    )
    for key, value in measured.items():
        print(f"  {key:24} {value:10.2f}" if isinstance(value, float) else f"  {key:24} {value}")
    print("ceiling (forwarding + decoding both talkers, no recorder, same calls):")
    for key, value in reference.items():
        print(f"  {key:24} {value:10.2f}" if isinstance(value, float) else f"  {key:24} {value}")


if __name__ == "__main__":
    main()
