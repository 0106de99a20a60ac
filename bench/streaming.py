"""Media streaming latency: N calls, each streamed to an app's WebSocket server; p99 from
speech onset at the phone to the first non-silent AudioData frame at the app.

    python -m bench.streaming [--calls 20] [--seconds 20] [--cpu 0] [--json]

This process (pinned to ``--cpu``) runs the SFU (``LocalMediaNode``), per call the app's
``MediaEndpoint`` with its ``MediaStreams`` subscription (mixed, 16 kHz, bidirectional off) and
a "phone": a ``LocalLeg`` that speaks (loud 20 ms frames) for 600 ms, then sends nothing for
1 s to 1.4 s, over and over (calls out of phase). The app is a separate process on the other
core (``python -m bench.streaming app``): a websockets server that notes, per connection,
the arrival of each first loud frame after 400 ms without one. Both use CLOCK_MONOTONIC.

Figures: onsets seen, p50/p99/max latency, frames the sockets dropped, this process's share
of a core and the ticker's late ticks. Ceiling (the same run, same legs and app): each app
leg's decoded audio is sent as a pre-made frame straight from the leg (no endpoint tick, no
mixing, no resampling): forwarding + Opus + WebSocket alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvloop
from websockets.asyncio.server import ServerConnection, serve

from bench.window import measured_window
from switchboard.automation.call_plane import CallIds, EndpointMedia
from switchboard.automation.models import CallConnection, CallConnectionState
from switchboard.automation.streaming import frames
from switchboard.automation.streaming.models import StreamingOptions
from switchboard.automation.streaming.sessions import MediaStreams, StreamingEngines
from switchboard.automation.streaming.socket import StreamSocket
from switchboard.automation.streaming.transport import GuardedWebSocketConnector
from switchboard.core.sections import Mode
from switchboard.events.endpoints import EndpointGuard, EndpointPolicy
from switchboard.media.audio.dtmf import tone_frames
from switchboard.media.audio.frames import rms_dbfs
from switchboard.media.audio.speech import PocketsphinxRecognizer
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.audio.transcriber import PocketsphinxTranscriber
from switchboard.media.audio.tts import EspeakTextToSpeech
from switchboard.media.endpoint.endpoint import MediaEndpoint
from switchboard.media.endpoint.hold_music import hold_music
from switchboard.media.endpoint.renderer import FileFetchError, SourceRenderer
from switchboard.media.endpoint.ticker import EndpointTicker
from switchboard.media.local_leg import LocalLeg
from switchboard.media.node import LocalMediaNode

SPEAK_TICKS = 30  # 600 ms of "speech"
QUIET_TICKS = 50  # then 1 s of nothing (+ up to 400 ms, per call)
QUIET_SPELL_SECONDS = 0.4
LOUD_JSON = frames.audio_data(bytes(640), 0.0, False, None)
QUIET_JSON = frames.audio_data(bytes(640), 0.0, True, None)
LOUD = tone_frames(DtmfTone.FIVE, duration_ms=20, gap_ms=0, level_dbfs=-20.0)[0]


class Quiet:
    async def fetch(self, uri: str) -> bytes:
        raise FileFetchError("no files in this benchmark")


class AllowAll:
    async def check_callback_uri(self, url: str) -> None:
        return None


class Dropped:
    async def enqueue(self, call_connection_id: str, url: str, events: Any) -> None:
        return None


@dataclass
class Phone:
    leg: LocalLeg
    quiet_ticks: int
    position: int = 0
    onsets: list[float] = field(default_factory=list)

    def tick(self) -> None:
        cycle = SPEAK_TICKS + self.quiet_ticks
        step = self.position % cycle
        self.position += 1
        if step < SPEAK_TICKS:
            if step == 0:
                self.onsets.append(time.monotonic())
            self.leg.send_audio(LOUD)


# --- the app (another process) ----------------------------------------------------------------


async def app(port_file: str, seconds: float) -> None:
    arrivals: dict[str, list[float]] = {}

    async def handle(connection: ServerConnection) -> None:
        path = connection.request.path if connection.request else "?"
        seen = arrivals.setdefault(path, [])
        last_loud = -1.0
        async for message in connection:
            if '"silent":false' in str(message):
                now = time.monotonic()
                if now - last_loud > QUIET_SPELL_SECONDS:  # the first after a quiet spell
                    seen.append(now)
                last_loud = now

    async with serve(handle, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        await asyncio.to_thread(Path(port_file).write_text, str(port))
        await asyncio.sleep(seconds)
    print(json.dumps(arrivals))


# --- this process --------------------------------------------------------------------------


@dataclass
class ShortCut:
    """The ceiling: a leg's decoded audio straight onto the socket as a pre-made frame."""

    socket: StreamSocket

    def heard(self, participant_id: str, pcm: bytes) -> None:
        self.socket.send(LOUD_JSON if rms_dbfs(pcm) > -50 else QUIET_JSON)


def latencies(onsets: list[float], arrivals: list[float]) -> list[float]:
    found = []
    for onset, following in zip(onsets, [*onsets[1:], float("inf")], strict=True):
        after = [t for t in arrivals if onset <= t < following]
        if after:
            found.append(after[0] - onset)
    return found


async def streamed(calls: int, seconds: float, port: int, *, ceiling: bool) -> dict[str, Any]:
    node = LocalMediaNode(host="127.0.0.1")
    await node.start()
    ticker = EndpointTicker()
    await ticker.start()
    guard = EndpointGuard(EndpointPolicy.for_mode(Mode.DEVELOPMENT))
    connector = GuardedWebSocketConnector(guard)
    streams = MediaStreams(
        Dropped(), AllowAll(), StreamingEngines(connector, PocketsphinxTranscriber())
    )
    await streams.start()
    renderer = SourceRenderer(EspeakTextToSpeech(), Quiet())
    phones: list[Phone] = []
    sockets: list[StreamSocket] = []
    endpoints: list[MediaEndpoint] = []
    tasks: list[asyncio.Task[None]] = []
    tag = "ceiling" if ceiling else "stream"
    for index in range(calls):
        call_id = f"server:bench-{index}"
        app_leg = await node.add_local_participant(call_id, "app")
        phone = Phone(await node.add_local_participant(call_id, "phone"), QUIET_TICKS + index % 20)
        phones.append(phone)
        url = f"ws://127.0.0.1:{port}/{tag}-{index}"
        if ceiling:
            socket = StreamSocket(url, connector, b"{}", on_state=lambda s, d: None)
            app_leg.tap(ShortCut(socket).heard)
            sockets.append(socket)
            tasks.append(asyncio.create_task(socket.run()))
            continue
        endpoint = MediaEndpoint(
            app_leg, renderer, PocketsphinxRecognizer(), lambda e: None, hold_music=hold_music()
        )
        await endpoint.start()
        endpoints.append(endpoint)
        ticker.add(endpoint)
        call = CallConnection(call_id, call_id, call_id, "", CallConnectionState.CONNECTED)
        streams.attach(
            call, EndpointMedia(endpoint, CallIds(), app_leg), StreamingOptions(url), None
        )
        await streams.start_media_streaming(call, None, None)
    await asyncio.sleep(1.0)  # sockets connect
    for phone in phones:
        ticker.add(phone)
    window = await measured_window(seconds, lambda: ticker.late_ticks)
    for phone in phones:
        ticker.remove(phone)
    dropped = sum(s.dropped_frames for s in sockets)
    for socket in sockets:
        socket.close()
    await asyncio.gather(*tasks)
    for endpoint in endpoints:
        ticker.remove(endpoint)
        await endpoint.stop()
    await streams.stop()
    await ticker.stop()
    await node.stop()
    return {
        "onsets": {f"/{tag}-{i}": p.onsets for i, p in enumerate(phones)},
        "cpu_share": window.cpu_share,
        "late_ticks": window.late_ticks,
        "dropped_frames": dropped,
    }


def summary(run: dict[str, Any], arrivals: dict[str, list[float]]) -> dict[str, float]:
    found = sorted(
        x
        for path, onsets in run["onsets"].items()
        for x in latencies(onsets, arrivals.get(path, []))
    )
    total = sum(len(onsets) for onsets in run["onsets"].values())
    return {
        "onsets": total,
        "heard": len(found),
        "p50_ms": 1000 * statistics.median(found) if found else -1.0,
        "p99_ms": 1000 * found[int(0.99 * (len(found) - 1))] if found else -1.0,
        "max_ms": 1000 * found[-1] if found else -1.0,
        "cpu_share": run["cpu_share"],
        "late_ticks": run["late_ticks"],
        "dropped_frames": run["dropped_frames"],
    }


def measure(calls: int, seconds: float, cpu: int | None, *, ceiling: bool) -> dict[str, float]:
    port_file = f"/tmp/bench-streaming-{os.getpid()}-{int(ceiling)}.port"
    command = [sys.executable, "-m", "bench.streaming", "app", port_file, str(seconds + 8)]
    if cpu is not None and (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", str((cpu + 1) % (os.cpu_count() or 1)), *command]
    app_process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        ready = Path(port_file)
        while not ready.exists() or not ready.read_text():
            time.sleep(0.05)  # the app process starting (a separate process: no event to share)
        port = int(ready.read_text())
        run = uvloop.run(streamed(calls, seconds, port, ceiling=ceiling))
        out, _ = app_process.communicate(timeout=seconds + 30)
    finally:
        app_process.kill()
        if os.path.exists(port_file):
            os.remove(port_file)
    return summary(run, json.loads(out))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "app":
        uvloop.run(app(sys.argv[2], float(sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--cpu", type=int, default=None, help="pin to this core")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    measured = measure(args.calls, args.seconds, args.cpu, ceiling=False)
    reference = measure(args.calls, min(args.seconds, 10.0), args.cpu, ceiling=True)
    if args.json:
        print(json.dumps({"streaming": measured, "ceiling": reference}))
        return
    print(f"media streams: {args.calls} calls, {args.seconds:g} s measured")
    for key, value in measured.items():
        print(f"  {key:24} {value:10.1f}" if isinstance(value, float) else f"  {key:24} {value}")
    print("ceiling (leg → WebSocket directly: forwarding, Opus and the socket only):")
    for key, value in reference.items():
        print(f"  {key:24} {value:10.1f}" if isinstance(value, float) else f"  {key:24} {value}")


if __name__ == "__main__":
    main()
