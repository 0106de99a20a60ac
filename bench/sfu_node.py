"""The SFU benchmark's media node process: a ``LocalMediaNode`` behind a JSON-lines socket.

``python -m bench.sfu node`` (or ``spawn_node`` pinned to a CPU) serves one control
connection: create call, add participant, SRTP keys, publish, stats. Besides the node's
calls it holds **plain fan-out** calls, the benchmark's ceiling: the same sockets, the same
event loop, the same subscriptions (audio to everyone, video to the first ``max_video``
others), but each datagram is only read and written again, no SRTP and no forwarder:

    real:    recvfrom_into ─▶ srtp_unprotect ─▶ Forwarder ─▶ (rewrite, srtp_protect, sendto) × k
    ceiling: recvfrom_into ──────────────────────────────────▶ sendto × k

``stats`` answers the counters a loss account needs: what the node's sockets received, what
the forwarder forwarded and to how many subscribers each published SSRC goes (its routes),
the process's CPU time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

from switchboard.media.codecs import VideoCodec
from switchboard.media.data_frames import DataReliability
from switchboard.media.data_router import DataRoute
from switchboard.media.node import LocalMediaNode, SrtpKeys, SubscriberOptions, TrackSpec
from switchboard.media.streams import MediaKind
from switchboard.media.transport import SOCKET_BUFFER, size_socket_buffers

AUDIO_PT = 111


class PlainFanout:
    """The ceiling's call: each participant's datagrams copied to its subscribers' peers."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_video: int) -> None:
        self.loop, self.max_video = loop, max_video
        self.sockets: dict[str, socket.socket] = {}
        self.remotes: dict[str, tuple[str, int]] = {}
        self.audio: dict[str, list[tuple[socket.socket, tuple[str, int]]]] = {}
        self.video: dict[str, list[tuple[socket.socket, tuple[str, int]]]] = {}
        self.received = self.forwarded = self.send_drops = 0
        self.buffer = bytearray(2048)

    def add(self, participant: str, host: str) -> tuple[str, int]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        size_socket_buffers(sock, SOCKET_BUFFER)
        sock.bind((host, 0))
        self.sockets[participant] = sock
        self.loop.add_reader(sock.fileno(), self._on_readable, participant, sock)
        address: tuple[str, int] = sock.getsockname()
        return address

    def set_remote(self, participant: str, remote: tuple[str, int]) -> None:
        self.remotes[participant] = remote
        order = list(self.remotes)  # join order, as the forwarder's speaker order here
        for publisher in order:
            others = [p for p in order if p != publisher]
            self.audio[publisher] = [(self.sockets[p], self.remotes[p]) for p in others]
            watchers = [p for p in others if publisher in _first_others(order, p, self.max_video)]
            self.video[publisher] = [(self.sockets[p], self.remotes[p]) for p in watchers]

    def routes(self) -> int:
        return sum(len(r) for r in self.audio.values()) + sum(len(r) for r in self.video.values())

    def _on_readable(self, participant: str, sock: socket.socket) -> None:
        buffer, recv = self.buffer, sock.recvfrom_into
        view = memoryview(buffer)
        audio, video = self.audio.get(participant, ()), self.video.get(participant, ())
        for _ in range(64):
            try:
                length, _ = recv(buffer)
            except BlockingIOError:
                return
            self.received += 1
            targets = audio if buffer[1] & 0x7F == AUDIO_PT else video
            packet = view[:length]
            for out, remote in targets:
                try:
                    out.sendto(packet, remote)
                    self.forwarded += 1
                except BlockingIOError:
                    self.send_drops += 1

    def close(self) -> None:
        for sock in self.sockets.values():
            self.loop.remove_reader(sock.fileno())
            sock.close()


def _first_others(order: list[str], subscriber: str, count: int) -> list[str]:
    return [p for p in order if p != subscriber][:count]


async def serve_node(host: str, port: int) -> None:
    node = LocalMediaNode(host=host)
    await node.start()
    plain: dict[str, PlainFanout] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            request = json.loads(line)
            try:
                answer = await _control(node, plain, request)
            except Exception as error:  # reported to the benchmark, which stops
                answer = {"error": repr(error)}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, host, port)
    print(f"control {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


async def _control(
    node: LocalMediaNode, plain: dict[str, PlainFanout], request: dict[str, Any]
) -> dict[str, Any]:
    op, call = request["op"], request.get("call", "")
    if call in plain or (op == "create_call" and request.get("plain")):
        return _plain_control(plain, request)
    if op == "create_call":
        await node.create_call(call)
    elif op == "end_call":
        await node.end_call(call)
    elif op == "add_participant":
        options = SubscriberOptions(max_video=request.get("max_video", 16))
        params = await node.add_participant(call, request["participant"], options)
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
        return _stats(node, plain)
    return {}


def _plain_control(plain: dict[str, PlainFanout], request: dict[str, Any]) -> dict[str, Any]:
    op, call = request["op"], request["call"]
    if op == "create_call":
        plain[call] = PlainFanout(asyncio.get_running_loop(), request.get("max_video", 16))
    elif op == "end_call":
        plain.pop(call).close()
    elif op == "add_participant":
        host, port = plain[call].add(request["participant"], request.get("host", "127.0.0.1"))
        return {"host": host, "port": port, "fingerprint": ""}
    elif op == "set_keys":
        plain[call].set_remote(
            request["participant"], (request["remote_host"], request["remote_port"])
        )
    return {}


def _stats(node: LocalMediaNode, plain: dict[str, PlainFanout]) -> dict[str, Any]:
    transports = [t for c in node.calls.values() for t in c.transports.values()]
    forwarders = [c.forwarder for c in node.calls.values()]
    routes = {str(t.ssrc): len(t.routes) for f in forwarders for t in f.tracks()}
    return {
        "cpu": time.process_time(),
        "time": time.monotonic(),
        "forwarded": sum(f.forwarded for f in forwarders)
        + sum(p.forwarded for p in plain.values()),
        "retransmitted": sum(f.retransmitted for f in forwarders),
        "waiting_drops": sum(f.waiting_drops for f in forwarders),
        "received": sum(t.received for t in transports) + sum(p.received for p in plain.values()),
        "sent": sum(t.sent for t in transports),
        "send_drops": sum(t.send_drops for t in transports)
        + sum(p.send_drops for p in plain.values()),
        "auth_failures": sum(t.auth_failures for t in transports),
        "receive_buffer": min((t.receive_buffer for t in transports), default=0),
        "routes": routes,
        "plain_routes": sum(p.routes() for p in plain.values()),
        "data_forwarded": sum(c.data.counters.forwarded for c in node.calls.values()),
        "data_dropped": sum(c.data.counters.dropped for c in node.calls.values()),
    }


def make_realtime(pid: int) -> None:
    """SCHED_FIFO for every thread of ``pid`` (root): its core as if it had one of its own."""
    try:
        tasks = [int(task) for task in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        tasks = [pid]
    for task in tasks:
        with contextlib.suppress(OSError):  # a thread that just ended
            os.sched_setscheduler(task, os.SCHED_FIFO, os.sched_param(10))


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


@contextlib.contextmanager
def spawn_node(cpu: int | None) -> Iterator[int]:
    """Start ``python -m bench.sfu node`` (pinned to ``cpu``); yields its control port."""
    with spawn_node_process(cpu) as (port, _):
        yield port


@contextlib.contextmanager
def spawn_node_process(cpu: int | None, extra: Sequence[str] = ()) -> Iterator[tuple[int, int]]:
    """As ``spawn_node`` (``extra``: more arguments); yields (control port, process id)."""
    command = [sys.executable, "-m", "bench.sfu", "node", "--port", "0", *extra]
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
        yield int(line.split()[1]), process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
