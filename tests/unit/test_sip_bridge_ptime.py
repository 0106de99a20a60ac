"""RtpBridge (gateways/sip/media.py) with packets of other sizes than 20 ms: carriers send
ptime 10, 20 or 30 (SIPp's recorded g711a.pcap is 30 ms a packet); the leg gets 20 ms frames of
all of it, in order, at 8 kHz (libopus codes it narrowband from 8 kHz). No sockets: datagrams
in, ticks, a fake leg."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from switchboard.gateways.sip import g711
from switchboard.gateways.sip.media import SAMPLES_8K, RtpBridge
from switchboard.gateways.sip.sdp import Media
from switchboard.media.local_leg import LocalLeg
from switchboard.media.rtp import RtpPacket

CARRIER = ("127.0.0.1", 40000)


class Leg:
    """The SFU's side of the bridge: the frames the phone's audio became."""

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []
        self.narrowband = False

    def send_narrowband(self, frame: bytes) -> None:
        self.frames.append(np.frombuffer(frame, dtype="<i2"))

    def listen_all(self, listener: Callable[..., Any] | None, *, narrowband: bool = False) -> None:
        self.narrowband = narrowband

    def on_telephone_event(self, listener: Callable[..., Any] | None) -> None:
        return None


@pytest.mark.parametrize("ptime_ms", [10, 20, 30])
def test_packets_of_any_ptime_reach_the_leg_as_20_ms_frames_in_order(ptime_ms: int) -> None:
    bridge = RtpBridge()
    bridge.set_media(Media(CARRIER[0], CARRIER[1], "PCMA", 8, None))
    leg = Leg()
    bridge.connect(leg)  # type: ignore[arg-type]  # the part of LocalLeg the bridge uses
    assert isinstance(leg, Leg) and not isinstance(leg, LocalLeg)
    samples = 8 * ptime_ms
    ramp = np.linspace(-8000, 8000, 8 * 600).astype(np.int16)  # 600 ms, rising
    packets = [
        RtpPacket(8, seq, start, 1234, g711.encode("PCMA", ramp[start : start + samples]))
        for seq, start in enumerate(range(0, ramp.size, samples))
    ]
    for tick in range(40):  # each 20 ms, what the carrier sent by then; then a tick
        while packets and packets[0].timestamp < (tick + 1) * 160:
            bridge.datagram_received(bytes(packets.pop(0)), CARRIER)
        bridge.tick()
    assert leg.narrowband  # the phone hears the call at 8 kHz
    assert len(leg.frames) == 30  # 600 ms in 20 ms frames, none lost
    assert all(frame.size == SAMPLES_8K for frame in leg.frames)
    firsts = [int(frame[0]) for frame in leg.frames]
    assert firsts == sorted(firsts)  # in order: the ramp keeps rising
