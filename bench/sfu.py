"""SFU benchmark: synthetic SRTP publishers and subscribers on loopback against a media node.

Two processes, one core each (``--spawn``): the media node (``python -m bench.sfu node``: a
``LocalMediaNode`` behind a JSON-lines control socket) on the first CPU, this load generator
on the second. Each load step is one call of N participants; every participant publishes an
Opus-sized audio stream (50 packets/s, ~100 bytes, RFC 6464 audio level) and a VP8-sized video
stream (30 frames/s, ``--video-kbps``, ~1,100-byte packets) and subscribes to everybody else:
the node forwards N × (N − 1) × 2 streams.

    load generator (CPU 1)                         media node (CPU 0)
    publisher: SRTP(perf_counter in payload) ─UDP─▶ unprotect ─▶ forwarder ─▶ rewrite,
    subscriber: unprotect, now − stamp ◀────UDP──── protect, sendto (N − 1 times)
                control: create call, add participants, keys, publish, stats ◀─TCP─▶

Figures per step: packets/s the node forwarded (its own counter over the window), what the
subscribers received, the node's CPU (its ``process_time``) per forwarded packet and per
forwarded stream, and the added latency (publisher's send → subscriber's decrypt, p50/p99).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import time
from array import array
from collections.abc import Iterator, Sequence
from typing import Any

import uvloop

from bench.loadgen import command_line, percentile, split_cpus
from switchboard.media import rtcp
from switchboard.media.codecs import VideoCodec
from switchboard.media.data_frames import DataReliability
from switchboard.media.data_router import DataRoute
from switchboard.media.node import LocalMediaNode, SrtpKeys, SubscriberOptions, TrackSpec
from switchboard.media.srtp import SrtpContext, ffi
from switchboard.media.streams import MediaKind

AUDIO_PT, VIDEO_PT, LEVEL_ID = 111, 96, 1
AUDIO_PAYLOAD, VIDEO_PACKET = 80, 1100
_header = struct.Struct(">BBHII")
_stamp = struct.Struct("<d")

# ── the media node process ────────────────────────────────────────────────────────────


async def serve_node(host: str, port: int) -> None:
    node = LocalMediaNode(host=host)
    await node.start()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            request = json.loads(line)
            try:
                answer = await _control(node, request)
            except Exception as error:  # reported to the benchmark, which stops
                answer = {"error": repr(error)}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, host, port)
    print(f"control {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


async def _control(node: LocalMediaNode, request: dict[str, Any]) -> dict[str, Any]:
    op, call = request["op"], request.get("call", "")
    if op == "create_call":
        await node.create_call(call)
    elif op == "end_call":
        await node.end_call(call)
    elif op == "add_participant":
        params = await node.add_participant(call, request["participant"], SubscriberOptions())
        return {"host": params.host, "port": params.port, "fingerprint": params.fingerprint}
    elif op == "expect_peer":  # bench/datachannel.py: DTLS (and SCTP) from this fingerprint
        await node.expect_peer(call, request["participant"], "bench", request["fingerprint"])
    elif op == "set_data_route":
        route = DataRoute(DataReliability(request["reliability"]))
        await node.set_data_route(call, request["participant"], request["channel"], route)
    elif op == "set_keys":
        keys = SrtpKeys(bytes.fromhex(request["local"]), bytes.fromhex(request["remote"]))
        remote = (request["remote_host"], request["remote_port"])
        await node.set_keys(call, request["participant"], keys, remote)
    elif op == "publish":
        kind = MediaKind(request["kind"])
        codec = VideoCodec.VP8 if kind is MediaKind.VIDEO else None
        spec = TrackSpec(kind, request["ssrc"], request["pt"], codec, None, request["level_id"])
        await node.publish(call, request["participant"], spec)
    elif op == "stats":
        transports = [t for c in node.calls.values() for t in c.transports.values()]
        return {
            "cpu": time.process_time(),
            "forwarded": sum(c.forwarder.forwarded for c in node.calls.values()),
            "retransmitted": sum(c.forwarder.retransmitted for c in node.calls.values()),
            "received": sum(t.received for t in transports),
            "send_drops": sum(t.send_drops for t in transports),
            "auth_failures": sum(t.auth_failures for t in transports),
            "data_forwarded": sum(c.data.counters.forwarded for c in node.calls.values()),
            "data_dropped": sum(c.data.counters.dropped for c in node.calls.values()),
        }
    return {}


class Control:
    """The benchmark's side of the control socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def __call__(self, op: str, **fields: Any) -> dict[str, Any]:
        self.writer.write(json.dumps({"op": op, **fields}).encode() + b"\n")
        answer: dict[str, Any] = json.loads(await self.reader.readline())
        if "error" in answer:
            raise RuntimeError(f"media node: {op}: {answer['error']}")
        return answer


# ── synthetic participants ────────────────────────────────────────────────────────────


class Peer:
    """One participant: publishes audio + video, receives and times everybody else's."""

    def __init__(self, index: int, node_address: tuple[str, int], loud: bool) -> None:
        self.id = f"p{index}"
        self.node = node_address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.setblocking(False)
        self.sock.bind(("127.0.0.1", 0))
        self.my_key, self.node_key = os.urandom(30), os.urandom(30)
        self.tx = SrtpContext(self.my_key, outbound=True)
        self.rx = SrtpContext(self.node_key, outbound=False)
        self.audio_ssrc, self.video_ssrc = random.getrandbits(32), random.getrandbits(32)
        self.seq = {self.audio_ssrc: random.getrandbits(16), self.video_ssrc: 0}
        self.audio_ts, self.video_ts = random.getrandbits(32), random.getrandbits(32)
        self.level = 20 if loud else 110
        self.keyframe_wanted = True
        self.next_audio = self.next_video = 0.0
        self.received = 0
        self.measuring = False
        self.latencies = array("d")

    def close(self) -> None:
        self.sock.close()

    def _send(self, packet: bytes | bytearray, ssrc: int, marker_pt: int, ts: int) -> None:
        tx = self.tx
        ffi.memmove(tx.cdata, packet, len(packet))
        seq = self.seq[ssrc] = (self.seq[ssrc] + 1) & 0xFFFF
        _header.pack_into(
            tx.buffer, 0, 0x90 if marker_pt == AUDIO_PT else 0x80, marker_pt, seq, ts, ssrc
        )
        stamp_at = 20 if marker_pt == AUDIO_PT else 14
        _stamp.pack_into(tx.buffer, stamp_at, time.perf_counter())
        size = tx.protect_in_place(len(packet))
        with contextlib.suppress(BlockingIOError):
            self.sock.sendto(tx.buffer[:size], self.node)

    def send_audio(self, template: bytearray) -> None:
        template[12:20] = bytes((0xBE, 0xDE, 0, 1, LEVEL_ID << 4, self.level, 0, 0))
        self._send(template, self.audio_ssrc, AUDIO_PT, self.audio_ts)
        self.audio_ts = (self.audio_ts + 960) & 0xFFFFFFFF

    def send_frame(self, template: bytearray, packets: int) -> None:
        key = self.keyframe_wanted
        self.keyframe_wanted = False
        for i in range(packets):
            template[12] = 0x10 if i == 0 else 0x00  # S bit on the frame's first packet
            template[13] = 0x00 if key else 0x01  # VP8 frame tag: P = 0 is a key frame
            last = i == packets - 1
            self._send(template, self.video_ssrc, VIDEO_PT | (0x80 if last else 0), self.video_ts)
        self.video_ts = (self.video_ts + 3000) & 0xFFFFFFFF

    def on_readable(self) -> None:
        rx = self.rx
        buffer, recv = rx.buffer, self.sock.recvfrom_into
        unprotect, latencies = rx.unprotect_in_place, self.latencies
        perf = time.perf_counter
        while True:
            try:
                length, _ = recv(buffer)
            except BlockingIOError:
                return
            if 192 <= buffer[1] <= 223:
                self._on_rtcp(bytes(buffer[:length]))
                continue
            if unprotect(length) < 0:
                continue
            self.received += 1
            if self.measuring:
                at = 20 if buffer[1] & 0x7F == AUDIO_PT else 14
                latencies.append(perf() - _stamp.unpack_from(buffer, at)[0])

    def _on_rtcp(self, data: bytes) -> None:
        try:
            packets = rtcp.parse_rtcp(self.rx.unprotect_rtcp(data))
        except Exception:
            return
        for packet in packets:
            if isinstance(packet, rtcp.PictureLossIndication | rtcp.FullIntraRequest):
                self.keyframe_wanted = True


async def publish_forever(peers: Sequence[Peer], video_kbps: int) -> None:
    audio = bytearray(20 + AUDIO_PAYLOAD)
    video = bytearray(VIDEO_PACKET)
    per_frame = max(1, round(video_kbps * 1000 / 8 / 30 / VIDEO_PACKET))
    now = time.perf_counter()
    for peer in peers:
        peer.next_audio = now + random.random() * 0.02
        peer.next_video = now + random.random() / 30
    while True:
        now = time.perf_counter()
        for peer in peers:
            while peer.next_audio <= now:
                peer.send_audio(audio)
                peer.next_audio += 0.02
            while peer.next_video <= now:
                peer.send_frame(video, per_frame)
                peer.next_video += 1 / 30
        await asyncio.sleep(0.004)


# ── one load step ─────────────────────────────────────────────────────────────────────


async def run_step(
    control: Control, node_host: str, size: int, args: argparse.Namespace
) -> dict[str, Any]:
    call = f"bench-{size}-{random.getrandbits(24):06x}"
    await control("create_call", call=call)
    peers: list[Peer] = []
    loop = asyncio.get_running_loop()
    for index in range(size):
        answer = await control("add_participant", call=call, participant=f"p{index}")
        peer = Peer(index, (answer["host"], answer["port"]), loud=index == 0)
        host, port = peer.sock.getsockname()
        await control(
            "set_keys",
            call=call,
            participant=peer.id,
            local=peer.node_key.hex(),
            remote=peer.my_key.hex(),
            remote_host=host,
            remote_port=port,
        )
        for kind, ssrc, pt in (
            ("audio", peer.audio_ssrc, AUDIO_PT),
            ("video", peer.video_ssrc, VIDEO_PT),
        ):
            await control(
                "publish",
                call=call,
                participant=peer.id,
                kind=kind,
                ssrc=ssrc,
                pt=pt,
                level_id=LEVEL_ID if kind == "audio" else 0,
            )
        loop.add_reader(peer.sock.fileno(), peer.on_readable)
        peers.append(peer)
    publisher = asyncio.create_task(publish_forever(peers, args.video_kbps))
    try:
        await asyncio.sleep(args.warmup)
        before, received_before = await control("stats"), sum(p.received for p in peers)
        client_cpu_before = time.process_time()
        for peer in peers:
            peer.measuring = True
        started = time.perf_counter()
        await asyncio.sleep(args.duration)
        for peer in peers:
            peer.measuring = False
        window = time.perf_counter() - started
        after, received_after = await control("stats"), sum(p.received for p in peers)
        client_cpu = time.process_time() - client_cpu_before
    finally:
        publisher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await publisher
        for peer in peers:
            loop.remove_reader(peer.sock.fileno())
            peer.close()
        await control("end_call", call=call)
    latencies = sorted(x for p in peers for x in p.latencies)
    forwarded = after["forwarded"] - before["forwarded"]
    node_cpu = after["cpu"] - before["cpu"]
    streams = size * (size - 1) * 2
    per_frame = max(1, round(args.video_kbps * 1000 / 8 / 30 / VIDEO_PACKET))
    offered = size * (size - 1) * (50 + 30 * per_frame)
    return {
        "participants": size,
        "streams": streams,
        "offered_pps": offered,
        "forwarded_pps": forwarded / window,
        "received_pps": (received_after - received_before) / window,
        "node_in_pps": (after["received"] - before["received"]) / window,
        "node_cpu_pct": 100 * node_cpu / window,
        "cpu_us_per_packet": 1e6 * node_cpu / forwarded if forwarded else 0.0,
        "cpu_pct_per_stream": 100 * node_cpu / window / streams,
        "send_drops": after["send_drops"] - before["send_drops"],
        "loadgen_cpu_pct": 100 * client_cpu / window,
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
        "max_ms": 1000 * (latencies[-1] if latencies else 0.0),
    }


def print_table(results: Sequence[dict[str, Any]], command: str) -> None:
    print("benchmark sfu (N participants, each publishes audio + video to all others)")
    print(
        f"{'N':>3} {'streams':>7} {'offered/s':>10} {'forwarded/s':>12} {'received/s':>11} "
        f"{'node cpu':>9} {'µs/pkt':>7} {'%cpu/stream':>12} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'loadgen':>8}"
    )
    for r in results:
        print(
            f"{r['participants']:>3} {r['streams']:>7} {r['offered_pps']:>10,.0f} "
            f"{r['forwarded_pps']:>12,.0f} {r['received_pps']:>11,.0f} "
            f"{r['node_cpu_pct']:>8.0f}% {r['cpu_us_per_packet']:>7.1f} "
            f"{r['cpu_pct_per_stream']:>12.3f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
            f"{r['loadgen_cpu_pct']:>7.0f}%"
        )
    print(f"command  {command}")


# ── driver ────────────────────────────────────────────────────────────────────────────


async def run_all(
    node_host: str, control_port: int, args: argparse.Namespace
) -> list[dict[str, Any]]:
    reader, writer = await asyncio.open_connection(node_host, control_port)
    control = Control(reader, writer)
    results = []
    try:
        for size in args.steps:
            print(f"step: {size} participants", file=sys.stderr)
            results.append(await run_step(control, node_host, size, args))
    finally:
        writer.close()
    return results


@contextlib.contextmanager
def spawn_node(cpu: int | None) -> Iterator[int]:
    command = [sys.executable, "-m", "bench.sfu", "node", "--port", "0"]
    taskset = shutil.which("taskset")
    if cpu is not None and taskset:
        command = [taskset, "-c", str(cpu), *command]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        if cpu is not None and not taskset:
            os.sched_setaffinity(process.pid, {cpu})
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if not line.startswith("control "):
            raise RuntimeError(f"media node did not start: {line!r}")
        yield int(line.split()[1])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: Sequence[str]) -> int:
    if argv and argv[0] == "node":
        parser = argparse.ArgumentParser(prog="python -m bench.sfu node")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=7700)
        args = parser.parse_args(argv[1:])
        with contextlib.suppress(KeyboardInterrupt):
            uvloop.run(serve_node(args.host, args.port))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.sfu")
    parser.add_argument("--spawn", action="store_true", help="start a pinned media node")
    parser.add_argument("--node", default="127.0.0.1:7700", help="control address of a node")
    parser.add_argument(
        "--steps", type=lambda s: [int(x) for x in s.split(",")], default=[4, 8, 12, 16, 20]
    )
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--video-kbps", type=int, default=1000)
    parser.add_argument("--cpu", type=int, help="pin the load generator (without --spawn)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    command = command_line("python -m bench.sfu", list(argv))
    host = args.node.rsplit(":", 1)[0]

    def run(port: int) -> list[dict[str, Any]]:
        return uvloop.run(run_all(host, port, args))

    if args.spawn:
        node_cpu, load_cpu = split_cpus()
        if load_cpu is not None:
            os.sched_setaffinity(0, {load_cpu})
        with spawn_node(node_cpu) as port:
            results = run(port)
    else:
        if args.cpu is not None:
            os.sched_setaffinity(0, {args.cpu})
        results = run(int(args.node.rsplit(":", 1)[1]))
    print_table(results, command)
    if args.json:
        print(json.dumps({"benchmark": "sfu", "steps": results}))
    return 0 if results and all(r["forwarded_pps"] > 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
