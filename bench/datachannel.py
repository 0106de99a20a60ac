"""Data-channel benchmark: the media node forwarding 64-byte lossy messages between N peers.

Two processes, one core each (``--spawn``): the media node (``python -m bench.sfu node``,
the SFU benchmark's control socket) on the first CPU, this load generator on the second.
Each peer is a real participant of the node's data path: UDP, a DTLS client (pyOpenSSL,
memory BIOs) and an SCTP association (aiortc's, client role, media/sctp.py), with a lossy
route to everyone. Each step offers a total message rate in the room, spread over the peers.

    peer: stamp perf_counter in 64 bytes ─SCTP/DTLS/UDP─▶ node: SCTP ─▶ router ─▶ SCTP × (N−1)
    peer: now − stamp (one-way latency; same clock) ◀──────────────────────────────┘

Figures per step: messages/s the node forwarded (its counter over the window), its CPU per
forwarded message and so messages/s per core, the p50/p99 one-way latency, drops. Beside
them, measured in the same run: the ceiling, aiortc's SCTP alone (one association pair in
memory, no DTLS, no routing): messages/s per core for one send + one receive.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import struct
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import uvloop
from OpenSSL import SSL

from bench.loadgen import command_line, percentile, split_cpus
from bench.sfu import Control, spawn_node
from switchboard.media.data_frames import LOSSY_STREAM, DataFrame
from switchboard.media.dtls import MTU, DtlsCertificate
from switchboard.media.sctp import SctpLink

PAYLOAD = 64
_stamp = struct.Struct("<d")


class DataPeer(asyncio.DatagramProtocol):
    """One participant: DTLS client + SCTP over one UDP socket to its node transport."""

    def __init__(self, name: str, node: tuple[str, int], certificate: DtlsCertificate) -> None:
        self.name, self.node = name, node
        self.ssl = SSL.Connection(certificate.context(), None)
        self.ssl.set_connect_state()
        self.ssl.set_ciphertext_mtu(MTU)
        self.connected = asyncio.Event()
        self.transport: asyncio.DatagramTransport | None = None
        self.link = SctpLink(name, self._send_sctp, self._message, role="client")
        self.latencies: list[float] = []
        self.received = 0
        self.sequence = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._handshake()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.ssl.bio_write(data)
        if not self.connected.is_set():
            self._handshake()
            return
        try:
            record = self.ssl.recv(2048)
        except SSL.Error:
            return
        self.link.deliver(record)

    def _handshake(self) -> None:
        try:
            self.ssl.do_handshake()
            self.connected.set()
        except SSL.WantReadError:
            pass
        self._flush()

    def _flush(self) -> None:
        while True:
            try:
                chunk = self.ssl.bio_read(2048)
            except SSL.Error:
                return
            if not chunk or self.transport is None:
                return
            self.transport.sendto(chunk, self.node)

    def _send_sctp(self, packet: bytes) -> None:
        self.ssl.send(packet)
        self._flush()

    def _message(self, stream: int, frame: bytes) -> None:
        payload = DataFrame.decode(frame).payload
        self.latencies.append(time.perf_counter() - _stamp.unpack_from(payload)[0])
        self.received += 1

    async def send(self) -> None:
        self.sequence += 1
        stamp = _stamp.pack(time.perf_counter()).ljust(PAYLOAD, b"\0")
        frame = DataFrame(1, self.sequence, "", stamp).encode()
        await self.link.send(LOSSY_STREAM, frame, lossy=True)


def _same(peer: DataPeer) -> DataPeer:
    return peer


async def _until(check: Callable[[], bool]) -> None:
    while not check():  # noqa: ASYNC110 (aiortc's association signals neither state nor count)
        await asyncio.sleep(0.002)


async def sctp_ceiling(messages: int = 20_000) -> float:
    """aiortc SCTP alone, in memory: messages/s per core for one send + one receive."""
    got = 0

    def count(stream: int, data: bytes) -> None:
        nonlocal got
        got += 1

    def forward_to(other: list[SctpLink]) -> Any:
        return lambda packet: asyncio.get_running_loop().call_soon(other[0].deliver, packet)

    a_peer: list[SctpLink] = []
    b_peer: list[SctpLink] = []
    a = SctpLink("a", forward_to(b_peer), count, role="client")
    b = SctpLink("b", forward_to(a_peer), count, role="server")
    a_peer.append(a)
    b_peer.append(b)
    a.start()
    await _until(lambda: a.established and b.established)
    frame = bytes(PAYLOAD)
    cpu = time.process_time()
    for n in range(messages):
        await a.send(LOSSY_STREAM, frame, lossy=True)
        if n % 32 == 0:
            await asyncio.sleep(0)
    await _until(lambda: got >= messages * 0.99)
    cpu = time.process_time() - cpu
    await a.close()
    await b.close()
    return got / cpu


async def run_step(control: Control, host: str, size: int, rate: int, args: Any) -> dict[str, Any]:
    call = f"bench-data-{size}-{rate}"
    await control("create_call", call=call)
    certificate = DtlsCertificate()
    loop = asyncio.get_running_loop()
    peers: list[DataPeer] = []
    for index in range(size):
        name = f"p{index}"
        params = await control("add_participant", call=call, participant=name)
        await control(
            "expect_peer", call=call, participant=name, fingerprint=certificate.fingerprint
        )
        await control("set_data_route", call=call, participant=name, channel=1, reliability="lossy")
        peer = DataPeer(name, (params["host"], params["port"]), certificate)
        await loop.create_datagram_endpoint(partial(_same, peer), local_addr=("127.0.0.1", 0))
        peers.append(peer)
    for peer in peers:
        await asyncio.wait_for(peer.connected.wait(), 10)
        peer.link.start()
    await _until(lambda: all(p.link.established for p in peers))

    tick = 0.01
    per_tick = rate * tick / size
    stop = loop.time() + args.warmup + args.duration
    measured: dict[str, Any] = {}

    async def offer() -> None:
        owed = 0.0
        next_tick = loop.time()
        while loop.time() < stop:
            owed += per_tick
            while owed >= 1:
                for peer in peers:
                    await peer.send()
                owed -= 1
            next_tick += tick
            await asyncio.sleep(max(0.0, next_tick - loop.time()))

    async def window() -> None:
        await asyncio.sleep(args.warmup)
        for peer in peers:
            peer.latencies.clear()
        before, cpu = await control("stats"), time.process_time()
        received = sum(p.received for p in peers)
        await asyncio.sleep(args.duration)
        after = await control("stats")
        measured.update(
            node_cpu=after["cpu"] - before["cpu"],
            forwarded=after["data_forwarded"] - before["data_forwarded"],
            dropped=after["data_dropped"] - before["data_dropped"],
            received=sum(p.received for p in peers) - received,
            loadgen_cpu=time.process_time() - cpu,
        )

    await asyncio.gather(offer(), window())
    latencies = sorted(x for p in peers for x in p.latencies)
    for peer in peers:
        await peer.link.close()
        if peer.transport is not None:
            peer.transport.close()
    await control("end_call", call=call)
    seconds, forwarded = args.duration, measured["forwarded"]
    return {
        "participants": size,
        "offered_msgs": rate,
        "forwarded_msgs": forwarded / seconds,
        "received_msgs": measured["received"] / seconds,
        "dropped": measured["dropped"],
        "node_cpu_pct": 100 * measured["node_cpu"] / seconds,
        "cpu_us_per_msg": 1e6 * measured["node_cpu"] / forwarded if forwarded else 0.0,
        "msgs_per_core": forwarded / measured["node_cpu"] if measured["node_cpu"] else 0.0,
        "loadgen_cpu_pct": 100 * measured["loadgen_cpu"] / seconds,
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
    }


async def run_all(host: str, port: int, args: Any) -> tuple[float, list[dict[str, Any]]]:
    ceiling = await sctp_ceiling()
    reader, writer = await asyncio.open_connection(host, port)
    control = Control(reader, writer)
    results = []
    try:
        for rate in args.rates:
            print(f"step: {args.participants} peers, {rate} msg/s", file=sys.stderr)
            results.append(await run_step(control, host, args.participants, rate, args))
    finally:
        writer.close()
    return ceiling, results


def print_table(ceiling: float, results: Sequence[dict[str, Any]], command: str) -> None:
    print("benchmark datachannel (N peers, 64-byte lossy messages, each to all others)")
    print(f"ceiling (same run): aiortc SCTP alone, send + receive: {ceiling:,.0f} msg/s per core")
    print(
        f"{'N':>3} {'offered/s':>10} {'forwarded/s':>12} {'received/s':>11} {'node cpu':>9} "
        f"{'µs/msg':>7} {'msg/s/core':>11} {'p50 ms':>7} {'p99 ms':>7} {'drops':>6} {'loadgen':>8}"
    )
    for r in results:
        print(
            f"{r['participants']:>3} {r['offered_msgs']:>10,} {r['forwarded_msgs']:>12,.0f} "
            f"{r['received_msgs']:>11,.0f} {r['node_cpu_pct']:>8.0f}% {r['cpu_us_per_msg']:>7.1f} "
            f"{r['msgs_per_core']:>11,.0f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
            f"{r['dropped']:>6} {r['loadgen_cpu_pct']:>7.0f}%"
        )
    print(f"command: {command}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.datachannel")
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument(
        "--rates", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 2000, 4000]
    )
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--no-pin", action="store_true", help="let the OS place both processes (a shared machine)"
    )
    args = parser.parse_args(argv)
    node_cpu, load_cpu = (None, None) if args.no_pin else split_cpus()
    if load_cpu is not None:
        os.sched_setaffinity(0, {load_cpu})
    with spawn_node(node_cpu) as port:
        ceiling, results = uvloop.run(run_all("127.0.0.1", port, args))
    print_table(ceiling, results, command_line("python -m bench.datachannel", list(argv)))
    if args.json:
        print(json.dumps({"benchmark": "datachannel", "ceiling": ceiling, "steps": results}))
    return 0 if results and all(r["forwarded_msgs"] > 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
