"""Benchmark: calling signaling — call setups per second and setup latency (offer → answer).

Setup (not timed): ``--concurrency`` caller/callee pairs of users with ``voip`` tokens, each
user one registered device (a WebSocket on ``/calling/signaling``, speaking
``switchboard.calling.v1`` through the Python client's sans-I/O ``SignalingSession``).

Timed, in one process, each pair in a closed loop: the caller sends ``startCall`` with an
offer; the callee gets ``incomingCall`` and sends ``accept`` with an answer; the caller
receives the answer relayed (``sdp``) — that interval is the setup latency — then hangs up
and both wait for ``callEnded``. A setup counts when its answer arrives inside the window.
SDP bodies are fixed strings (the server relays them without parsing): this measures the
signaling server, not aiortc (tests/integration/test_calling_media.py proves real media).

    python -m bench.signaling --spawn --concurrency 32 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

import uvloop
from azure.communication.identity import CommunicationIdentityClient
from websockets.asyncio.client import ClientConnection, connect

from bench.loadgen import (
    add_common_arguments,
    command_line,
    parse_connection_string,
    percentile,
    same_run_ceiling,
    spawn_server,
    split_cpus,
)
from switchboard.calling.signaling.frames import CallEnded, CallFrames, IncomingCall, Sdp
from switchboard.calling.signaling.protocol import PROTOCOL
from switchboard.calling.signaling.requests import Accept, HangUp, Request, StartCall
from switchboard.client.calling.session import (
    Ack,
    Registered,
    SignalingSession,
    signaling_url,
)

F = TypeVar("F", bound=CallFrames)

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}


class Device:
    """One registered device: a socket, a session, and a queue of its call frames."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.session = SignalingSession()
        self.frames: asyncio.Queue[CallFrames] = asyncio.Queue()
        self.acks: asyncio.Queue[Ack] = asyncio.Queue()
        self.reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, token: str, context: ssl.SSLContext) -> Device:
        connection = await connect(
            url,
            subprotocols=[PROTOCOL],  # type: ignore[list-item]  # a plain str is fine
            additional_headers={"Authorization": f"Bearer {token}"},
            ssl=context,
            ping_interval=None,
            compression=None,
        )
        device = cls(connection)
        device.session.connection_made(time.monotonic())
        await device.flush()
        while not device.session.registered:
            device.session.receive(await connection.recv(), time.monotonic())
        device.reader = asyncio.create_task(device.read())
        return device

    async def flush(self) -> None:
        for text in self.session.data_to_send():
            await self.connection.send(text)

    async def send(self, request: Request) -> None:
        self.session.request(request)
        await self.flush()

    async def read(self) -> None:
        async for text in self.connection:
            for event in self.session.receive(text, time.monotonic()):
                if isinstance(event, Ack):
                    self.acks.put_nowait(event)
                elif not isinstance(event, Registered):
                    self.frames.put_nowait(event)
            await self.flush()

    async def next_frame(self, kind: type[F]) -> F:
        while True:
            frame = await self.frames.get()
            if isinstance(frame, kind):
                return frame

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        await self.connection.close()


@dataclass
class Results:
    start: float = 0.0
    end: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: int = 0


async def pair_loop(caller: Device, callee: Device, callee_id: str, results: Results) -> None:
    while True:
        sent = time.perf_counter()
        await caller.send(StartCall(targets=[{"rawId": callee_id}], description=OFFER))
        incoming = await callee.next_frame(IncomingCall)
        await callee.send(Accept(call_id=incoming.call_id, description=ANSWER))
        answer = await caller.next_frame(Sdp)
        arrived = time.perf_counter()
        if answer.description.sdp != ANSWER["sdp"]:
            results.failures += 1
        elif results.start <= arrived <= results.end:
            results.latencies.append(arrived - sent)
        await caller.send(HangUp(call_id=answer.call_id))
        await caller.next_frame(CallEnded)
        await callee.next_frame(CallEnded)


async def run(args: argparse.Namespace, connection_string: str, ca: str) -> Results:
    endpoint = parse_connection_string(connection_string)
    base = connection_string.split(";")[0].removeprefix("endpoint=")
    identity = CommunicationIdentityClient.from_connection_string(
        connection_string, connection_verify=ca
    )
    users = [identity.create_user_and_token(scopes=["voip"]) for _ in range(2 * args.concurrency)]
    print(f"{len(users)} users on {endpoint.host}:{endpoint.port}", file=sys.stderr)
    context = ssl.create_default_context(cafile=ca)
    url = signaling_url(base)
    devices = [await Device.open(url, token.token, context) for _, token in users]
    results = Results()
    now = time.perf_counter()
    results.start, results.end = now + args.warmup, now + args.warmup + args.duration
    loops = [
        asyncio.create_task(
            pair_loop(
                devices[2 * i],
                devices[2 * i + 1],
                str(users[2 * i + 1][0].properties["id"]),
                results,
            )
        )
        for i in range(args.concurrency)
    ]
    await asyncio.sleep(args.warmup + args.duration + 0.2)
    for loop in loops:
        loop.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    for device in devices:
        await device.close()
    return results


def report(results: Results, args: argparse.Namespace, command: str) -> dict[str, Any]:
    latencies = sorted(results.latencies)
    figures = {
        "benchmark": "signaling",
        "setups": len(latencies),
        "setups_per_second": round(len(latencies) / args.duration, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 99) * 1000, 2) if latencies else None,
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "failures": results.failures,
        "pairs": args.concurrency,
        "command": command,
    }
    print(f"benchmark signaling — {command}")
    for key in ("setups", "setups_per_second", "p50_ms", "p99_ms", "max_ms", "failures", "pairs"):
        print(f"  {key:<20} {figures[key]}")
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.signaling", description=__doc__)
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    args.concurrency = min(args.concurrency, 500)
    command = command_line("python -m bench.signaling", argv)
    if args.spawn:
        server_cpu, client_cpu = split_cpus()
        with spawn_server(server_cpu) as server:
            if client_cpu is not None:
                os.sched_setaffinity(0, {client_cpu})
            results = uvloop.run(run(args, server.connection_string, server.ca))
    elif args.connection_string and args.ca:
        if args.cpu is not None:
            os.sched_setaffinity(0, {args.cpu})
        results = uvloop.run(run(args, args.connection_string, args.ca))
    else:
        print("need --spawn, or --connection-string and --ca", file=sys.stderr)
        return 2
    figures = report(results, args, command)
    ceiling = same_run_ceiling(args, float(figures["setups_per_second"]), "setups", None)
    if ceiling is not None:
        figures["ceiling"] = ceiling.to_dict("requests")
    if args.json:
        print(json.dumps(figures, separators=(",", ":")))
    return 0 if figures["setups"] and not results.failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
