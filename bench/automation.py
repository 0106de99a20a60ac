"""N concurrent automated calls on one media node: each app endpoint loops a TTS prompt with
DTMF recognition, and a phone leg in the same SFU call listens and presses 1.

    python -m bench.automation [--calls 50] [--seconds 20] [--cpu 0] [--json]

Everything runs in one process on one core (``--cpu``): the SFU (``LocalMediaNode``), the
app's ``MediaEndpoint`` per call (espeak-ng speech, cached after the first call), and per call
a "phone": a ``LocalLeg`` that decodes what the app plays, measures when speech arrives, and
answers each prompt with an in-band "1" (``tone_frames``) that the endpoint must detect.

Figures:
- ``answer→audio``: endpoint created and its first play asked → the phone decodes the first
  loud frame (per call, at start-up; every call starts at once, so this is the worst case);
- ``prompt start``: recognize asked → the phone hears the prompt (p50/p99 over the run);
- ``recognitions``: RecognizeCompleted with tone 1, per second, and failures;
- ``cpu``: the process's share of one core over the measured window; ``late ticks``: 20 ms
  ticks the ticker had to catch up (a sign the core is saturated);
- ceiling (the same run, ``--calls`` legs): each app leg sends a pre-made tone frame every tick
  and each phone decodes it — the codec and forwarding work alone, no endpoint logic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from dataclasses import dataclass, field

import uvloop

from bench.window import measured_window
from switchboard.media.audio.dtmf import tone_frames
from switchboard.media.audio.frames import SILENT_FRAME, rms_dbfs
from switchboard.media.audio.speech import PocketsphinxRecognizer
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.audio.tts import EspeakTextToSpeech
from switchboard.media.endpoint.encoded import EncodedAudio
from switchboard.media.endpoint.endpoint import MediaEndpoint
from switchboard.media.endpoint.hold_music import hold_music
from switchboard.media.endpoint.models import (
    DtmfOptions,
    MediaEvent,
    Play,
    Recognize,
    RecognizeCompleted,
    RecognizeFailed,
    RecognizeInput,
    TextSource,
)
from switchboard.media.endpoint.renderer import FileFetchError, SourceRenderer
from switchboard.media.endpoint.ticker import EndpointTicker
from switchboard.media.local_leg import LocalLeg
from switchboard.media.node import LocalMediaNode

PROMPT = TextSource("Welcome. Press one for sales, two for support.")
GREETING = TextSource("Hello.")
PRESS_AFTER_LOUD_FRAMES = 25  # the phone answers half a second into the prompt


class NoFiles:
    async def fetch(self, uri: str) -> bytes:
        raise FileFetchError("no files in this benchmark")


@dataclass
class Phone:
    """The far end of one call: hears the app, presses 1 when a prompt has played a while."""

    leg: LocalLeg
    loud: int = 0
    first_loud_at: float | None = None
    pressing: list[bytes] = field(default_factory=list)

    def hear(self, frame: bytes) -> None:
        if rms_dbfs(frame) > -45:
            self.loud += 1
            if self.first_loud_at is None:
                self.first_loud_at = time.perf_counter()
            if self.loud == PRESS_AFTER_LOUD_FRAMES and not self.pressing:
                self.pressing = list(tone_frames(DtmfTone.ONE)) + [SILENT_FRAME] * 3

    def tick(self) -> None:
        if self.pressing:
            self.leg.send_audio(self.pressing.pop(0))


@dataclass
class Call:
    index: int
    phone: Phone
    endpoint: MediaEndpoint | None = None
    asked_at: float = 0.0
    prompt_latencies: list[float] = field(default_factory=list)
    done: int = 0
    failed: int = 0
    answer_to_audio: float | None = None

    def recognize(self) -> None:
        assert self.endpoint is not None
        self.phone.loud, self.phone.first_loud_at = 0, None
        self.asked_at = time.perf_counter()
        self.endpoint.recognize(
            Recognize(
                f"r{self.index}",
                RecognizeInput.DTMF,
                "phone",
                prompts=(PROMPT,),
                dtmf=DtmfOptions(max_tones=1),
                initial_silence_timeout_seconds=10,
            )
        )

    def on_event(self, event: MediaEvent) -> None:
        if isinstance(event, RecognizeCompleted | RecognizeFailed):
            if self.phone.first_loud_at is not None:
                self.prompt_latencies.append(self.phone.first_loud_at - self.asked_at)
            if isinstance(event, RecognizeCompleted) and event.tones == (DtmfTone.ONE,):
                self.done += 1
            else:
                self.failed += 1
            self.recognize()


async def run(calls: int, seconds: float) -> dict[str, float]:
    node = LocalMediaNode(host="127.0.0.1")
    await node.start()
    ticker = EndpointTicker()
    await ticker.start()
    renderer = SourceRenderer(EspeakTextToSpeech(), NoFiles())
    await renderer.render([PROMPT])  # espeak once; every call then plays the cached prompt
    await renderer.render([GREETING])
    recognizer = PocketsphinxRecognizer()
    encoded = EncodedAudio()  # as the node does: a prompt is encoded once for all calls
    made: list[Call] = []
    for index in range(calls):
        call_id = f"server:bench-{index}"
        app_leg = await node.add_local_participant(call_id, "app")
        phone = Phone(await node.add_local_participant(call_id, "phone"))
        phone.leg.listen("app", phone.hear)
        made.append(Call(index, phone))
        ticker.add(phone)
        call = made[-1]
        call.endpoint = MediaEndpoint(
            app_leg, renderer, recognizer, call.on_event, hold_music=hold_music(), encoded=encoded
        )
        await call.endpoint.start()
    started = time.perf_counter()
    for call in made:
        assert call.endpoint is not None
        ticker.add(call.endpoint)
        call.endpoint.play(Play(f"hello{call.index}", (GREETING,)))
    await asyncio.sleep(1.5)
    for call in made:
        if call.phone.first_loud_at is not None:
            call.answer_to_audio = call.phone.first_loud_at - started
        call.recognize()
    window = await measured_window(seconds, lambda: ticker.late_ticks)
    latencies = sorted(x for c in made for x in c.prompt_latencies)
    answers = sorted(c.answer_to_audio for c in made if c.answer_to_audio is not None)
    result = {
        "calls": calls,
        "cpu_share": window.cpu_share,
        "late_ticks": window.late_ticks,
        "recognitions_per_s": sum(c.done for c in made) / window.wall,
        "failures": sum(c.failed for c in made),
        "prompt_start_p50_ms": 1000 * statistics.median(latencies) if latencies else -1,
        "prompt_start_p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))]
        if latencies
        else -1,
        "answer_to_audio_max_ms": 1000 * answers[-1] if answers else -1,
        "answer_to_audio_p50_ms": 1000 * statistics.median(answers) if answers else -1,
    }
    for call in made:
        ticker.remove(call.phone)
        if call.endpoint is not None:
            ticker.remove(call.endpoint)
            await call.endpoint.stop()
    await ticker.stop()
    await node.stop()
    return result


@dataclass
class ToneSender:
    leg: LocalLeg
    frame: bytes

    def tick(self) -> None:
        self.leg.send_audio(self.frame)


async def ceiling(calls: int, seconds: float) -> dict[str, float]:
    """The codec and forwarding alone: every app leg sends a tone frame every tick, every
    phone leg decodes it."""
    node = LocalMediaNode(host="127.0.0.1")
    await node.start()
    ticker = EndpointTicker()
    await ticker.start()
    tone = tone_frames(DtmfTone.FIVE, duration_ms=20, gap_ms=0)[0]
    for index in range(calls):
        call_id = f"server:ceiling-{index}"
        sender = ToneSender(await node.add_local_participant(call_id, "app"), tone)
        phone = await node.add_local_participant(call_id, "phone")
        phone.listen("app", lambda frame: None)
        ticker.add(sender)
    await asyncio.sleep(1.0)
    window = await measured_window(seconds, lambda: ticker.late_ticks)
    await ticker.stop()
    await node.stop()
    return {"calls": calls, "cpu_share": window.cpu_share, "late_ticks": window.late_ticks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--cpu", type=int, default=None, help="pin to this core")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    measured = uvloop.run(run(args.calls, args.seconds))
    reference = uvloop.run(ceiling(args.calls, min(args.seconds, 10.0)))
    if args.json:
        print(json.dumps({"automation": measured, "ceiling": reference}))
        return
    print(f"automated calls: {args.calls} on one core, {args.seconds:g} s measured")
    for key, value in measured.items():
        print(f"  {key:24} {value:10.1f}" if isinstance(value, float) else f"  {key:24} {value}")
    print("ceiling (codec + forwarding only, same legs):")
    for key, value in reference.items():
        print(f"  {key:24} {value:10.2f}" if isinstance(value, float) else f"  {key:24} {value}")


if __name__ == "__main__":
    main()
