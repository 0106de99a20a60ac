"""Benchmark: push notifications — Web Push sent per second per core, and call → push latency.

``throughput`` (in process, no server): the PushDispatcher with its WebPushProvider (VAPID
header per origin, aes128gcm encryption with an ephemeral P-256 key per push, one HTTP POST)
drains an in-memory outbox of notifications to the Web Push fake (tests/push/fakes.py), which
runs in a child process on the other CPU and fully checks one push in ``--verify-every``
(VAPID JWT, decryption). Reported: pushes/s and pushes per CPU-second of the sender. The
ceiling, measured in the same run: the same HTTP client (aiohttp, push/providers/poster.py)
POSTing a body of the same size to a bare endpoint of the same fake (no encryption, no
VAPID, no outbox).

``latency`` (a spawned server, its Web Push provider pointed at the fake in this process):
a device calls users whose only device is a push registration; call → push is the time from
sending ``startCall`` to the fake receiving the encrypted incoming call (so it includes the
outbox write, the dispatcher, encryption and the HTTP POST). The same run's floor: the
``startCall`` ack's round trip.

    python -m bench.push throughput --duration 10 --concurrency 64
    python -m bench.push latency --calls 300
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import ssl
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import uvloop
from azure.communication.identity import CommunicationIdentityClient
from tests.push.fakes import WebPushService
from tests.push.providers import vapid_pem

from bench.loadgen import command_line, percentile, spawn_server, split_cpus
from bench.signaling import OFFER, Device
from switchboard.calling.signaling.frames import CallEnded
from switchboard.calling.signaling.requests import HangUp, StartCall
from switchboard.client.calling.session import signaling_url
from switchboard.client.push import PushRegistrations, PushTarget
from switchboard.core.clock import SystemClock
from switchboard.push.dispatcher import DispatchSettings, PushDispatcher
from switchboard.push.models import Notification, NotificationKind, PushJob, PushKind, Registration
from switchboard.push.providers.poster import AiohttpPoster
from switchboard.push.providers.webpush import WebPushProvider
from switchboard.push.store_memory import MemoryPushOutbox, MemoryRegistrationStore

PROG = "python -m bench.push"
PAYLOAD = {"callId": "0" * 36, "callerId": "8:acs:" + "x" * 60, "displayName": "Alice"}


# ── the fake, in its own process ──────────────────────────────────────────────────────────


def _serve_fake(pipe: Connection, subscriptions: int, verify_every: int, cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})

    async def serve() -> None:
        service = await WebPushService(verify_every=verify_every).start()
        subs = [service.subscribe() for _ in range(subscriptions)]
        pipe.send([(s.endpoint, s.p256dh, s.auth) for s in subs])
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # until told to stop
        pipe.send((service.taken, len(service.received), service.errors[:3]))
        await service.stop()

    uvloop.run(serve())


class Users:
    async def is_live(self, user_id: str) -> bool:
        return True


async def _throughput(args: argparse.Namespace, subs: list[tuple[str, str, str]]) -> dict[str, Any]:
    clock = SystemClock()
    registrations = MemoryRegistrationStore()
    for n, (endpoint, p256dh, auth) in enumerate(subs):
        await registrations.put(
            Registration(f"u{n}", "d", PushKind.WEBPUSH, endpoint, "", p256dh, auth, 0, 2**62)
        )
    poster = AiohttpPoster(timeout=10, connections=args.concurrency)
    provider = WebPushProvider(poster, vapid_pem(), "mailto:bench@example.com", clock)
    outbox = MemoryPushOutbox()
    note = Notification(NotificationKind.INCOMING_CALL, PAYLOAD, ttl_seconds=3600)
    jobs = int(args.duration * 20_000)  # more than can be sent in the window
    now_ms = int(clock.now() * 1000)
    await outbox.add(
        [
            PushJob(f"j{i}", f"u{i % len(subs)}", "d", note, now_ms, due_ms=now_ms)
            for i in range(jobs)
        ]
    )
    dispatcher = PushDispatcher(
        outbox,
        registrations,
        {PushKind.WEBPUSH: provider},
        Users(),
        clock=clock,
        settings=DispatchSettings(batch=args.concurrency * 4, concurrency=args.concurrency),
    )
    await dispatcher.start()
    await asyncio.sleep(args.warmup)
    sent0, cpu0, t0 = dispatcher.sent, time.process_time(), time.perf_counter()
    await asyncio.sleep(args.duration)
    sent, cpu, elapsed = (
        dispatcher.sent - sent0,
        time.process_time() - cpu0,
        time.perf_counter() - t0,
    )
    await dispatcher.stop()

    # The ceiling: the same client, a body of the same size, a bare endpoint.
    size = len(json.dumps({"type": "incomingCall", **PAYLOAD})) + 86  # + aes128gcm overhead
    body = os.urandom(size)
    ping = subs[0][0].rsplit("/push/", 1)[0] + "/ping"
    posted = 0
    stop_at = time.perf_counter() + args.duration

    async def post_bare() -> None:
        nonlocal posted
        while time.perf_counter() < stop_at:
            await poster.post(ping, body, {})
            posted += 1

    cpu1, t1 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(post_bare() for _ in range(args.concurrency)))
    ceiling_cpu, ceiling_elapsed = time.process_time() - cpu1, time.perf_counter() - t1
    await provider.close()
    return {
        "pushes_per_second": round(sent / elapsed, 1),
        "pushes_per_cpu_second": round(sent / cpu, 1) if cpu else None,
        "ceiling_posts_per_second": round(posted / ceiling_elapsed, 1),
        "ceiling_posts_per_cpu_second": round(posted / ceiling_cpu, 1) if ceiling_cpu else None,
        "sender_cpu_share": round(cpu / elapsed, 2),
    }


def throughput(args: argparse.Namespace) -> dict[str, Any]:
    sender_cpu, fake_cpu = split_cpus()
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(
        target=_serve_fake, args=(theirs, args.subscriptions, args.verify_every, fake_cpu)
    )
    child.start()
    try:
        subs = ours.recv()
        if sender_cpu is not None:
            os.sched_setaffinity(0, {sender_cpu})
        figures = uvloop.run(_throughput(args, subs))
        ours.send("stop")
        taken, verified, errors = ours.recv()
    finally:
        child.join(10)
    figures.update(fake_taken=taken, fake_verified=verified, fake_errors=errors)
    return figures


# ── call → push latency against a spawned server ──────────────────────────────────────────


async def _latency(args: argparse.Namespace, connection_string: str, ca: str) -> dict[str, Any]:
    service = await WebPushService().start()
    base = connection_string.split(";")[0].removeprefix("endpoint=").rstrip("/")
    identity = CommunicationIdentityClient.from_connection_string(
        connection_string, connection_verify=ca
    )
    _, caller_token = identity.create_user_and_token(scopes=["voip"])
    callees = []
    for _ in range(args.callees):
        user, token = identity.create_user_and_token(scopes=["voip"])
        sub = service.subscribe()
        await PushRegistrations(base, token.token, ssl=ca).register(
            "phone", PushTarget.web_push(sub.json())
        )
        callees.append(str(user.properties["id"]))
    caller = await Device.open(
        signaling_url(base), caller_token.token, ssl.create_default_context(cafile=ca)
    )
    pushes: list[float] = []
    acks: list[float] = []
    for n in range(args.calls):
        expected = len(service.received) + 1
        sent = time.perf_counter()
        await caller.send(
            StartCall(targets=[{"rawId": callees[n % len(callees)]}], description=OFFER)
        )
        ack = await caller.acks.get()
        acks.append(time.perf_counter() - sent)
        await service.wait_for(expected)
        pushes.append(time.perf_counter() - sent)
        assert ack.result is not None, ack.error
        await caller.send(HangUp(call_id=str(ack.result.call_id)))
        await caller.next_frame(CallEnded)
        await caller.acks.get()  # the hang-up's
        await service.wait_for(expected + 1)  # the cancel push, before the next call
    await caller.close()
    await service.stop()
    assert not service.errors, service.errors
    pushes.sort()
    acks.sort()
    return {
        "calls": len(pushes),
        "call_to_push_p50_ms": round(percentile(pushes, 50) * 1000, 2),
        "call_to_push_p99_ms": round(percentile(pushes, 99) * 1000, 2),
        "call_to_push_max_ms": round(pushes[-1] * 1000, 2),
        "floor_start_call_ack_p50_ms": round(percentile(acks, 50) * 1000, 2),
        "floor_start_call_ack_p99_ms": round(percentile(acks, 99) * 1000, 2),
    }


def latency(args: argparse.Namespace) -> dict[str, Any]:
    server_cpu, client_cpu = split_cpus()
    with tempfile.TemporaryDirectory(prefix="sbbench-push-") as scratch:
        key = Path(scratch, "vapid.pem")
        key.write_bytes(vapid_pem())
        os.environ["SWITCHBOARD_PUSH_VAPID_PRIVATE_KEY_FILE"] = str(key)
        with spawn_server(server_cpu) as server:
            if client_cpu is not None:
                os.sched_setaffinity(0, {client_cpu})
            return uvloop.run(_latency(args, server.connection_string, server.ca))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=["throughput", "latency"])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=64, help="pushes in flight")
    parser.add_argument("--subscriptions", type=int, default=64)
    parser.add_argument("--verify-every", type=int, default=20, help="the fake checks 1 in N")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--callees", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = throughput(args) if args.part == "throughput" else latency(args)
    figures = {"benchmark": f"push {args.part}", **figures, "command": command_line(PROG, argv)}
    print(f"benchmark push {args.part} — {figures['command']}")
    for key, value in figures.items():
        if key not in ("benchmark", "command"):
            print(f"  {key:<32} {value}")
    if args.json:
        print(json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
