"""SIP trunk calls against SIPp on loopback: call setups per second, post-dial delay, and
concurrent bridged calls (G.711 on the trunk ↔ Opus in the SFU, audio both ways).

    python -m bench.sip [--setups 2000] [--concurrency 20] [--calls 100] [--seconds 10]
                        [--cpu 1] [--sipp-cpu 0] [--json]

This process (pinned to ``--cpu``) runs the node's SIP gateway as the server does: a
``SipCarrier`` with one UDP trunk, the media node (``LocalMediaNode``) and the 20 ms
``EndpointTicker``. SIPp's built-in ``uas`` (pinned to ``--sipp-cpu``) plays the carrier: it
answers every INVITE (180, 200) and, with ``-rtp_echo``, sends back every RTP packet it gets.

- setups/s: ``--concurrency`` calls at a time, each dialled (INVITE, 180, 200, ACK), its RTP
  bridge joined to a ``LocalLeg`` in its own SFU call, then hung up (BYE, 200), ``--setups``
  in all (a closed loop at saturation: its delays include queueing); post-dial delay =
  ``dial()`` → answered (the 200 parsed and ACKed), p50/p99, also measured on its own with
  ``--pdd-calls`` calls placed one at a time.
- bridged calls: ``--calls`` answered calls held for ``--seconds``; in each SFU call an "app"
  leg publishes a tone in Opus (pre-encoded: the far side's encoder is not ours to pay), the
  phone's bridge hears it (Opus decoded to 8 kHz, G.711) and sends RTP to SIPp, whose echo
  comes back (jitter buffer, G.711 decode, narrowband Opus encode from 8 kHz, forwarded to
  the app leg).
  loss = 1 − echoes received ÷ packets sent in the window (echoes counted once the senders
  stopped and 0.5 s more: a process the scheduler starves is not charged the packets still
  in flight at the window's end); ticks served = packets sent ÷ (calls × 50/s × window):
  below 100 % the core could not keep up (or was taken by other work); cpu = this
  process's share of its core; late ticks = 20 ms ticks caught up.
- per core: calls ÷ cpu share and setups ÷ CPU seconds — what one whole core would carry at
  the measured cost; on a shared machine (other work on the same cores) wall-clock figures
  drop a lot, CPU cost much less: compare these.

Each figure is printed beside the same run's trivial ceiling: setups by a bare UAC (pre-built
INVITE/ACK/BYE bytes, the Call-ID substituted, answers matched by Call-ID, no SIP parser, no
media) against the same SIPp; bridged calls as the same number of plain UDP sockets each
sending a pre-made G.711 packet per tick to SIPp's echo and reading it back (no codec, no SFU).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import uvloop

from bench.window import Window, measured_window
from switchboard.calling.models import EndReason
from switchboard.calling.pstn.ports import InboundPhoneCall, PhoneCallListener
from switchboard.gateways.sip import SipCarrier, SipRouting, g711
from switchboard.gateways.sip.outbound import OutboundSipCall
from switchboard.gateways.sip.trunks import Route, Trunk
from switchboard.media.endpoint.ticker import EndpointTicker
from switchboard.media.local_leg import LocalLeg, audio_level
from switchboard.media.node import LocalMediaNode
from switchboard.media.opus import FRAME_SAMPLES, SAMPLE_RATE, OpusEncoder
from switchboard.media.rtp import RtpPacket

NUMBER = "+15550001234"
CALLER = "+14255550100"
DRAIN_SECONDS = 0.5  # after the window, for the echoes in flight (a starved process lags)


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def start_sipp(port: int, media_port: int, cpu: int | None) -> subprocess.Popen[bytes]:
    sipp = shutil.which("sipp")
    if sipp is None:
        raise SystemExit("sipp is missing (Debian sip-tester)")
    command = [sipp, "-sn", "uas", "-rtp_echo", "-mp", str(media_port)]
    command += ["-i", "127.0.0.1", "-p", str(port), "-nostdin", "-max_socket", "4000"]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_sipp(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGUSR1)  # SIPp's "quit now"
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Answer(PhoneCallListener):
    def __init__(self) -> None:
        self.done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def answered(self) -> None:
        if not self.done.done():
            self.done.set_result(True)

    def failed(self, reason: EndReason) -> None:
        if not self.done.done():
            self.done.set_result(False)

    def ended(self) -> None:
        self.failed(EndReason(0, 0, "ended"))


class NoInboundCalls:
    def incoming(self, call: InboundPhoneCall) -> PhoneCallListener:
        raise RuntimeError("no inbound calls in this benchmark")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else -1.0


async def gateway(sipp_port: int) -> tuple[SipCarrier, LocalMediaNode, EndpointTicker]:
    trunk = Trunk("sipp", "127.0.0.1", sipp_port, options_seconds=0, max_calls=100_000)
    routing = SipRouting([trunk], [Route("all", re.compile(r"\+.*"), ("sipp",))])
    carrier = SipCarrier(routing, NoInboundCalls(), port=0)
    await carrier.start()
    node = LocalMediaNode(host="127.0.0.1")
    await node.start()
    ticker = EndpointTicker()
    await ticker.start()
    ticker.add(carrier)
    return carrier, node, ticker


async def dial(carrier: SipCarrier) -> tuple[OutboundSipCall, float | None]:
    """One call answered: (the call, dial → answered seconds; None if it failed)."""
    listener = Answer()
    started = time.perf_counter()
    call = carrier.dial(CALLER, NUMBER, listener)
    ok = await listener.done
    return call, (time.perf_counter() - started) if ok else None


# ── setups ─────────────────────────────────────────────────────────────────────────


async def setups(sipp_port: int, total: int, concurrency: int) -> dict[str, float]:
    carrier, node, ticker = await gateway(sipp_port)
    delays: list[float] = []
    failures = 0
    remaining = total
    index = 0

    async def worker() -> None:
        nonlocal remaining, failures, index
        while remaining > 0:
            remaining -= 1
            index += 1
            call, delay = await dial(carrier)
            if delay is None:
                failures += 1
                continue
            delays.append(delay)
            leg = await node.add_local_participant(f"setup-{index}", "phone")
            call.connect_media(leg)
            call.hang_up()
            leg.close()

    remaining = min(total, 50)
    await asyncio.gather(*(worker() for _ in range(min(concurrency, 10))))  # warm-up
    delays.clear()
    failures = 0
    remaining = total
    started = time.perf_counter()
    cpu0 = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    await ticker.stop()
    await carrier.stop()
    await node.stop()
    return {
        "setups_per_s": len(delays) / wall,
        "pdd_p50_ms": 1000 * statistics.median(delays) if delays else -1.0,
        "pdd_p99_ms": 1000 * percentile(delays, 0.99),
        "failures": failures,
        "cpu_share": cpu / wall,
        "cpu_us_per_setup": 1e6 * cpu / max(1, len(delays)),
        "setups_per_core_s": len(delays) / cpu if cpu else 0.0,
    }


class BareUac(asyncio.DatagramProtocol):
    """The ceiling's UAC: pre-built messages, answers matched by Call-ID, nothing parsed."""

    def __init__(self, sipp_port: int) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[bytes, asyncio.Future[bytes]] = {}
        self._sipp = ("127.0.0.1", sipp_port)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data.startswith(b"SIP/2.0 1"):
            return
        start = data.find(b"Call-ID: ") + 9
        call_id = data[start : data.find(b"\r\n", start)]
        future = self.waiting.pop(call_id, None)
        if future is not None and not future.done():
            future.set_result(data)

    async def call(self, call_id: str, local_port: int) -> float:
        """INVITE ─▶ 200 ─▶ ACK, BYE ─▶ 200: the INVITE's delay to its 200."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        delay, to_tag = 0.0, ""
        for method, cseq in (("INVITE", 1), ("ACK", 1), ("BYE", 2)):
            message = _bare(method, cseq, call_id, local_port, self._sipp[1], to_tag)
            if method == "ACK":
                self.transport.sendto(message, self._sipp)
                continue
            future: asyncio.Future[bytes] = loop.create_future()
            self.waiting[call_id.encode()] = future
            self.transport.sendto(message, self._sipp)
            answer = await asyncio.wait_for(future, 5)
            if method == "INVITE":
                delay = time.perf_counter() - started
                found = re.search(rb"To: [^\r]*(;tag=[^\r;]+)", answer)
                to_tag = found.group(1).decode() if found else ""
        return delay


def _bare(
    method: str, cseq: int, call_id: str, local_port: int, sipp_port: int, to_tag: str
) -> bytes:
    body = (
        b"v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        if method == "INVITE"
        else b""
    )
    head = (
        f"{method} sip:{NUMBER}@127.0.0.1:{sipp_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK{call_id}{cseq}{method[0]}\r\n"
        f"From: <sip:{CALLER}@127.0.0.1>;tag=b{call_id}\r\n"
        f"To: <sip:{NUMBER}@127.0.0.1>{to_tag}\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n"
        f"Contact: <sip:b@127.0.0.1:{local_port}>\r\n"
        + ("Content-Type: application/sdp\r\n" if body else "")
        + f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def setups_ceiling(sipp_port: int, total: int, concurrency: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    transport, uac = await loop.create_datagram_endpoint(
        lambda: BareUac(sipp_port), local_addr=("127.0.0.1", 0)
    )
    local_port = int(transport.get_extra_info("sockname")[1])
    delays: list[float] = []
    remaining = total
    counter = 0

    run_id = os.urandom(4).hex()  # Call-IDs SIPp has not seen in an earlier run

    async def worker() -> None:
        nonlocal remaining, counter
        while remaining > 0:
            remaining -= 1
            counter += 1
            # the bare UAC never retransmits: a lost datagram fails that call (counted)
            with contextlib.suppress(TimeoutError):
                delays.append(await uac.call(f"ceil{run_id}x{counter}", local_port))

    started = time.perf_counter()
    cpu0 = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    transport.close()
    return {
        "setups_per_s": len(delays) / wall,
        "pdd_p50_ms": 1000 * statistics.median(delays),
        "pdd_p99_ms": 1000 * percentile(delays, 0.99),
        "failures": total - len(delays),
        "cpu_share": cpu / wall,
        "cpu_us_per_setup": 1e6 * cpu / max(1, len(delays)),
        "setups_per_core_s": len(delays) / cpu if cpu else 0.0,
    }


# ── bridged calls ────────────────────────────────────────────────────────────────────


@dataclass
class TonePublisher:
    """The SFU side of a call (a browser, say): a tone in Opus, already encoded."""

    leg: LocalLeg
    payload: bytes
    level: int

    def tick(self) -> None:
        self.leg.send_encoded(self.payload, self.level)


def opus_tone() -> tuple[bytes, int]:
    t = np.arange(FRAME_SAMPLES)
    pcm = (8000 * np.sin(2 * np.pi * 440 * t / SAMPLE_RATE)).astype("<i2").tobytes()
    return OpusEncoder().encode(pcm), audio_level(pcm)


async def bridged(sipp_port: int, calls: int, seconds: float) -> dict[str, float]:
    carrier, node, ticker = await gateway(sipp_port)
    payload, level = opus_tone()
    made: list[OutboundSipCall] = []
    for index in range(calls):
        call, delay = await dial(carrier)
        if delay is None:
            raise SystemExit(f"call {index} was not answered")
        call_id = f"bridged-{index}"
        phone = await node.add_local_participant(call_id, "phone")
        app = await node.add_local_participant(call_id, "app")
        call.connect_media(phone)
        ticker.add(TonePublisher(app, payload, level))
        made.append(call)
    await asyncio.sleep(1.0)  # every bridge in its stride

    def totals() -> tuple[int, int]:
        bridges = [c.bridge for c in made if c.bridge is not None]
        return sum(b.sent for b in bridges), sum(b.received for b in bridges)

    sent0, _ = totals()
    window = await measured_window(seconds, lambda: ticker.late_ticks)
    sent, _ = totals()
    await ticker.stop()  # nothing more is sent: the echoes still in flight come back
    await asyncio.sleep(DRAIN_SECONDS)
    _, received = totals()
    for call in made:
        call.hang_up()
    await carrier.stop()
    await node.stop()
    return _media_figures(calls, sent - sent0, received - sent0, window)


def _media_figures(calls: int, sent: int, received: int, window: Window) -> dict[str, float]:
    # ``received``: echoes counted once the senders stopped and DRAIN_SECONDS passed, less
    # the packets sent before the window (their echoes came, or are lost before it: warm-up)
    expected = calls * window.wall / 0.02
    cpu_per_tick = window.cpu_share * window.wall / sent if sent else 0.0
    return {
        "calls": calls,
        "rtp_sent": sent,
        "ticks_served_pct": 100 * sent / expected if expected else 0.0,
        "loss_pct": max(0.0, 100 * (1 - received / sent)) if sent else 100.0,
        "cpu_share": window.cpu_share,
        "late_ticks": window.late_ticks,
        # one call's 20 ms of work (both directions), and how many calls one whole core
        # would carry at that cost (CPU time is what a shared machine disturbs least)
        "cpu_us_per_call_tick": 1e6 * cpu_per_tick,
        "calls_per_core": 0.02 / cpu_per_tick if cpu_per_tick else 0.0,
    }


class EchoCounter(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received += 1


@dataclass
class PlainRtp:
    transport: asyncio.DatagramTransport
    destination: tuple[str, int]
    packet: bytes
    sent: int = 0

    def tick(self) -> None:
        self.transport.sendto(self.packet, self.destination)
        self.sent += 1


async def bridged_ceiling(media_port: int, calls: int, seconds: float) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    ticker = EndpointTicker()
    await ticker.start()
    packet = bytes(RtpPacket(0, 1, 160, 0xCE11, g711.SILENCE["PCMU"]))
    senders: list[tuple[PlainRtp, EchoCounter]] = []
    for _ in range(calls):
        transport, counter = await loop.create_datagram_endpoint(
            EchoCounter, local_addr=("127.0.0.1", 0)
        )
        sender = PlainRtp(transport, ("127.0.0.1", media_port), packet)
        ticker.add(sender)
        senders.append((sender, counter))
    await asyncio.sleep(1.0)

    def totals() -> tuple[int, int]:
        return sum(s.sent for s, _ in senders), sum(c.received for _, c in senders)

    sent0, _ = totals()
    window = await measured_window(seconds, lambda: ticker.late_ticks)
    sent, _ = totals()
    await ticker.stop()
    await asyncio.sleep(DRAIN_SECONDS)
    _, received = totals()
    for sender, _ in senders:
        sender.transport.close()
    return _media_figures(calls, sent - sent0, received - sent0, window)


# ── the run ──────────────────────────────────────────────────────────────────────────


def _print(title: str, measured: dict[str, float], ceiling: dict[str, float]) -> None:
    print(title)
    print(f"  {'':22} {'switchboard':>12} {'ceiling':>12}")
    for key, value in measured.items():
        print(f"  {key:22} {value:12.1f} {ceiling.get(key, float('nan')):12.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sip", description=__doc__.split("\n")[0])
    parser.add_argument("--setups", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--pdd-calls", type=int, default=300, help="one at a time")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--cpu", type=int, default=1, help="pin this process here")
    parser.add_argument("--sipp-cpu", type=int, default=0, help="pin SIPp here")
    parser.add_argument("--skip-setups", action="store_true")
    parser.add_argument("--skip-bridged", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.cpu is not None and args.cpu in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {args.cpu})
    sipp_port, media_port = free_port(), free_port()
    sipp = start_sipp(sipp_port, media_port, args.sipp_cpu)
    results: dict[str, dict[str, float]] = {}
    try:
        time.sleep(0.5)  # SIPp binds its sockets
        run: Callable[..., dict[str, float]] = uvloop.run
        if not args.skip_setups:
            results["setups"] = run(setups(sipp_port, args.setups, args.concurrency))
            results["setups_ceiling"] = run(
                setups_ceiling(sipp_port, args.setups, args.concurrency)
            )
            results["pdd"] = run(setups(sipp_port, args.pdd_calls, 1))
            results["pdd_ceiling"] = run(setups_ceiling(sipp_port, args.pdd_calls, 1))
        if not args.skip_bridged:
            results["bridged"] = run(bridged(sipp_port, args.calls, args.seconds))
            results["bridged_ceiling"] = run(
                bridged_ceiling(media_port, args.calls, min(args.seconds, 10.0))
            )
    finally:
        stop_sipp(sipp)
    if "setups" in results:
        _print(
            f"call setups: {args.setups} calls, {args.concurrency} at a time (dial → 200/ACK, "
            "leg joined, BYE)",
            results["setups"],
            results["setups_ceiling"],
        )
    if "pdd" in results:
        _print(
            f"post-dial delay: {args.pdd_calls} calls one at a time (no queueing)",
            results["pdd"],
            results["pdd_ceiling"],
        )
    if "bridged" in results:
        _print(
            f"bridged calls: {args.calls} held {args.seconds:g} s, G.711 ⇄ Opus both ways "
            "(SIPp echoes the RTP)",
            results["bridged"],
            results["bridged_ceiling"],
        )
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
