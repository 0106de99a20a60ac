"""SIPp as the carrier for the SIP trunk tests: the node's trunks and routes, SIPp runs, and
the test's own RTP end for SIPp's answered calls (test_sip_calls.py, test_sip_inbound.py).

The node's ``[[trunks]]``: ``sipp`` (SIPp on ``trunk_port``), ``second`` and ``authed`` (one
more SIPp on ``second_port``, the latter with digest credentials), ``tcp`` (SIPp over TCP on
``tcp_port``); ``[[routes]]`` send +1555… to sipp, +1556… to second then sipp, +1557… to
second, +1558… to authed, +1559… to tcp. Each test runs SIPp scenarios
(tests/integration/sipp/*.xml) to their end and asserts SIPp's exit status (0: every message
it expected came, in order).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from switchboard.gateways.sip import g711
from switchboard.media.audio.dtmf import DtmfDetector
from switchboard.media.rtp import RtpPacket
from tests.free_ports import free_port
from tests.integration.calling_clients import closed_port
from tests.integration.inprocess_node import InProcessNode, serving

SIPP = shutil.which("sipp")
SCENARIOS = Path(__file__).parent / "sipp"
CALLEE = "+15550001234"  # a number the test route sends to SIPp's trunk
FAILOVER_CALLEE = "+15560001234"  # route: the second trunk (503 there), then the first
RINGING_CALLEE = "+15570001234"  # route: the second trunk only
AUTH_CALLEE = "+15580001234"  # route: the second trunk, with digest credentials
TCP_CALLEE = "+15590001234"  # route: a trunk signalled over TCP
USERNAME, PASSWORD = "switchboard", "s3cret-trunk"


def free_udp_port() -> int:
    return free_port()  # below the ephemeral range: tests/free_ports.py


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def trunk_port() -> int:
    return free_udp_port()


@pytest.fixture(scope="module")
def second_port() -> int:
    return free_udp_port()


@pytest.fixture(scope="module")
def tcp_port() -> int:
    return closed_port()


@pytest.fixture(scope="module")
def sip_port() -> int:
    return free_udp_port()


@pytest.fixture(scope="module")
async def node(
    tmp_path_factory: pytest.TempPathFactory,
    trunk_port: int,
    second_port: int,
    tcp_port: int,
    sip_port: int,
) -> AsyncIterator[InProcessNode]:
    assert SIPP is not None, "sipp (Debian sip-tester) is missing: scripts/test installs it"
    second = {"host": "127.0.0.1", "port": second_port, "options_seconds": 0}
    overrides = {
        "sip_port": sip_port,
        "trunks": [
            {"name": "sipp", "host": "127.0.0.1", "port": trunk_port, "options_seconds": 0},
            {"name": "second", **second},
            {"name": "authed", "username": USERNAME, "password": PASSWORD, **second},
            {
                "name": "tcp",
                "host": "127.0.0.1",
                "port": tcp_port,
                "transport": "tcp",
                "options_seconds": 0,
            },
        ],
        "routes": [
            {"name": "test", "pattern": r"\+1555[0-9]{7}", "trunks": ["sipp"]},
            {"name": "failover", "pattern": r"\+1556[0-9]{7}", "trunks": ["second", "sipp"]},
            {"name": "ringing", "pattern": r"\+1557[0-9]{7}", "trunks": ["second"]},
            {"name": "auth", "pattern": r"\+1558[0-9]{7}", "trunks": ["authed"]},
            {"name": "tcp", "pattern": r"\+1559[0-9]{7}", "trunks": ["tcp"]},
        ],
    }
    async with serving(tmp_path_factory.mktemp("sip"), overrides) as served:
        yield served


G711_TYPES = {0: "PCMU", 8: "PCMA"}


class RtpSink(asyncio.DatagramProtocol):
    """The carrier's media end for SIPp's answered calls: counts the G.711 frames with speech."""

    def __init__(self) -> None:
        self.frames = 0
        self.loud_frames = 0
        self.loud = asyncio.Event()
        self.keys: list[str] = []  # in-band DTMF heard
        self.key_heard = asyncio.Event()
        self._detector = DtmfDetector(8000)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        packet = RtpPacket.parse(data)
        codec = G711_TYPES.get(packet.payload_type)
        if codec is None:
            return
        self.frames += 1
        pcm = g711.decode(codec, packet.payload)
        for key in self._detector.feed(pcm.tobytes()):
            self.keys.append(key.value)
            self.key_heard.set()
        samples = pcm.astype(np.float64)
        if samples.size and float(np.sqrt(np.mean(samples * samples))) > 300:
            self.loud_frames += 1
            if self.loud_frames >= 25:  # half a second of the prompt
                self.loud.set()


class TonePhone(RtpSink):
    """A carrier's media end that also talks: every PCMU packet it gets is answered with 20 ms
    of a ``hz`` tone (PCMU) to where it came from (symmetric RTP), and it measures the
    frequency it hears (the caller's tone: zero crossings of the loud frames)."""

    def __init__(self, hz: float = 440.0) -> None:
        super().__init__()
        self._hz = hz
        self._transport: asyncio.BaseTransport | None = None
        self._sent = 0
        self._heard: list[float] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # a datagram transport (not a DatagramTransport subclass)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        before = self.loud_frames
        super().datagram_received(data, addr)
        if self.loud_frames > before:
            pcm = g711.decode("PCMU", RtpPacket.parse(data).payload).astype(np.float64)
            rising = np.flatnonzero((pcm[:-1] < 0) & (pcm[1:] >= 0))
            if rising.size >= 2:
                self._heard.append(8000 * (rising.size - 1) / float(rising[-1] - rising[0]))
        if self._transport is None:
            return
        t = (np.arange(160) + self._sent * 160) / 8000
        tone = (8000 * np.sin(2 * np.pi * self._hz * t)).astype(np.int16)
        payload = g711.encode("PCMU", tone)
        packet = RtpPacket(0, self._sent & 0xFFFF, self._sent * 160, 0x5EED, payload)
        self._sent += 1
        self._transport.sendto(bytes(packet), addr)  # type: ignore[attr-defined]  # datagram

    @property
    def heard_hz(self) -> float | None:
        """The median frequency of the loud frames heard (None before any)."""
        recent = sorted(self._heard[-50:])
        return recent[len(recent) // 2] if recent else None


@pytest.fixture
async def tone_phone() -> AsyncIterator[tuple[TonePhone, int]]:
    loop = asyncio.get_running_loop()
    transport, phone = await loop.create_datagram_endpoint(TonePhone, local_addr=("127.0.0.1", 0))
    yield phone, int(transport.get_extra_info("sockname")[1])
    transport.close()


@pytest.fixture
async def rtp_sink() -> AsyncIterator[tuple[RtpSink, int]]:
    loop = asyncio.get_running_loop()
    transport, sink = await loop.create_datagram_endpoint(RtpSink, local_addr=("127.0.0.1", 0))
    yield sink, int(transport.get_extra_info("sockname")[1])
    transport.close()


class ToneSource(asyncio.DatagramProtocol):
    """A carrier's announcement (early media): every RTP packet that arrives is answered, at
    its source (symmetric RTP), with 20 ms of a loud 440 Hz tone in PCMU."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.sent = 0
        t = np.arange(160) / 8000
        tone = (12000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
        self._payload = g711.encode("PCMU", tone)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # 3.11's selector datagram transport is not a DatagramTransport subclass
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.transport is None:
            return
        packet = RtpPacket(0, self.sent & 0xFFFF, 160 * self.sent, 0x5EED, self._payload)
        self.transport.sendto(bytes(packet), addr)
        self.sent += 1


@pytest.fixture
async def tone_source() -> AsyncIterator[tuple[ToneSource, int]]:
    loop = asyncio.get_running_loop()
    transport, tone = await loop.create_datagram_endpoint(ToneSource, local_addr=("127.0.0.1", 0))
    yield tone, int(transport.get_extra_info("sockname")[1])
    transport.close()


async def sipp(scenario: str, port: int, *args: str) -> asyncio.subprocess.Process:
    """SIPp running ``scenario`` (a file here, or ``builtin:`` one of its own) for one call."""
    assert SIPP is not None
    if scenario.startswith("builtin:"):
        chosen = ["-sn", scenario.removeprefix("builtin:")]
    else:
        chosen = ["-sf", str(SCENARIOS / scenario)]
    return await asyncio.create_subprocess_exec(
        SIPP,
        *args,
        *chosen,
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-m",
        "1",
        "-timeout",
        "60",
        "-timeout_error",
        "-nostdin",
        *(["-trace_msg", "-trace_err"] if os.environ.get("SIPP_TRACE") else []),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def listening_on_tcp(port: int) -> None:
    """Until a socket listens on the loopback TCP port (/proc/net/tcp: state 0A); SIPp tells
    nobody when it is ready, so the kernel's table is polled (for at most 10 s)."""
    wanted = f"0100007F:{port:04X}"

    def listening() -> bool:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
        return any(line.split()[1] == wanted and line.split()[3] == "0A" for line in lines)

    for _ in range(500):
        if await asyncio.to_thread(listening):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"nothing listens on TCP port {port}")


async def finished(process: asyncio.subprocess.Process) -> int:
    """SIPp's exit status once its one call is over: 0 when the scenario ran as written."""
    _, stderr = await process.communicate()
    assert process.returncode is not None
    if process.returncode != 0:
        print(stderr.decode(errors="replace"))
    return process.returncode
