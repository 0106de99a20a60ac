"""CPU per local-leg frame: what a ``LocalLeg`` costs the media node, in process (no sockets).

    python -m bench.local_leg [--frames 3000] [--subscribers 4] [--cpu 1] [--json]

Measured with ``time.process_time`` over ``--frames`` 20 ms frames of a 440 Hz tone (after
200 frames of warm-up):

- ``send``: ``LocalLeg.send_audio`` — Opus encode, audio level, RTP header, the forwarder
  rewriting it for each subscriber (null sinks: no SRTP, no socket);
- ``listen``: one publisher's Opus packet through the forwarder to the leg, decoded to PCM;
- ``encode`` / ``decode``: the Opus codec alone (``media/opus.py``);
- ``forward`` (the same run's reference): one publisher packet forwarded to the same
  subscribers with no codec at all — the SFU's own per-packet work.

A leg that plays and listens to one publisher costs ``send + listen`` every 20 ms: the share
of a core is that × 50.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable

import numpy as np

from switchboard.media.forwarder import Forwarder
from switchboard.media.local_leg import LocalLeg
from switchboard.media.opus import FRAME_SAMPLES, SAMPLE_RATE, OpusDecoder, OpusEncoder
from switchboard.media.rtp import RtpPacket
from switchboard.media.streams import MediaKind

WARMUP = 200


class NullSink:
    def send_rtp(
        self,
        packet: bytes | bytearray | memoryview,
        length: int,
        marker_pt: int,
        seq: int,
        timestamp: int,
        ssrc: int,
    ) -> None:
        pass

    def send_rtcp(self, data: bytes) -> None:
        pass


def tone(frames: int) -> list[bytes]:
    t = np.arange(frames * FRAME_SAMPLES)
    pcm = (8000 * np.sin(2 * np.pi * 440 * t / SAMPLE_RATE)).astype("<i2")
    return [pcm[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES].tobytes() for i in range(frames)]


def per_call(items: list[bytes], step: Callable[[bytes], object]) -> float:
    """Microseconds of CPU per call of ``step`` over ``items`` (the first WARMUP not timed)."""
    for item in items[:WARMUP]:
        step(item)
    start = time.process_time()
    for item in items[WARMUP:]:
        step(item)
    return (time.process_time() - start) / (len(items) - WARMUP) * 1e6


def measure(frames: int, subscribers: int) -> dict[str, float]:
    pcm = tone(frames + WARMUP)
    forwarder = Forwarder()
    for n in range(subscribers):
        forwarder.add_participant(f"p{n}", NullSink(), 0.0, payload_types={"opus": 111})
    leg = LocalLeg("bench", "leg", forwarder)
    send = per_call(pcm, leg.send_audio)

    encoder = OpusEncoder()
    packets = [
        bytes(
            RtpPacket(
                payload_type=111,
                sequence_number=i & 0xFFFF,
                timestamp=i * FRAME_SAMPLES,
                ssrc=0xA0,
                payload=encoder.encode(frame),
            )
        )
        for i, frame in enumerate(pcm)
    ]
    forwarder.publish("p0", MediaKind.AUDIO, 0xA0, 111, 0.0)
    leg.listen("p0", lambda frame: None)
    now = time.monotonic()
    listen = per_call(packets, lambda p: forwarder.receive_rtp(p, len(p), now))

    leg.close()  # forwarding alone: the same publisher, its other subscribers
    forward = per_call(packets, lambda p: forwarder.receive_rtp(p, len(p), now))

    fresh = OpusEncoder()
    encode = per_call(pcm, fresh.encode)
    decoder = OpusDecoder()
    payloads = [RtpPacket.parse(p).payload for p in packets]
    decode = per_call(payloads, decoder.decode)
    return {
        "send_us": send,
        "listen_us": listen,
        "encode_us": encode,
        "decode_us": decode,
        "forward_us": forward,
        "core_share_play_and_listen": (send + listen) * 50 / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.local_leg")
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--subscribers", type=int, default=4)
    parser.add_argument("--cpu", type=int)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    figures = measure(args.frames, args.subscribers)
    print(f"local leg, {args.frames} frames, {args.subscribers} subscribers (CPU µs per frame)")
    for name, value in figures.items():
        shown = f"{value:.1%}" if name.startswith("core_share") else f"{value:8.1f}"
        print(f"  {name:28} {shown}")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
