"""Janus's videoroom and our media node side by side: the same call, CPU per forwarded stream.

    python -m bench.janus --steps 8,20 --duration 5      # root: Debian's `janus` (apt-get)

Each step is one call of N participants, as in ``bench/sfu.py`` (the same ``Peer``: Opus-sized
audio at 50 packets/s, ``--video-kbps`` of VP8-sized video, everyone's audio and at most
``--max-video`` others' video), run three times on the same pinned core, one after the other:

    janus:   publisher PC (ICE, DTLS-SRTP) per participant + one multistream subscriber PC
             (``streams``: every other's audio mid, the first ``max_video`` others' video mid),
             over Janus's HTTP API; Janus's process CPU (all threads, /proc/PID/stat)
    ours:    ``bench.sfu``'s step against a spawned media node (SRTP keys by the control
             socket: no ICE/DTLS, which costs nothing once connected)
    ceiling: ``bench.sfu``'s plain fan-out in the node process (read, sendto per route)

CPU per forwarded stream = the SFU process's CPU time over the window ÷ window ÷ streams
forwarded; also per forwarded packet. The loss account is ``bench.sfu``'s (sends in the window
× routes vs receipts stamped in the window); Janus rewrites RTP header extensions, so against
it subscribers decrypt every packet and read the send time at the payload's end.

libnice (Janus's ICE) gathers no loopback candidates, so the benchmark re-runs itself in a
network namespace of its own (``unshare -n``: needs root), where a bridge interface holds
127.0.0.2 (still loopback traffic, nothing leaves the machine); Janus runs ICE-lite there.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from typing import Any

import uvloop

from bench.janus_leg import JanusLeg, parse_sdp
from bench.janus_server import HOST, JanusApi, enter_namespace, set_up_namespace, spawn_janus
from bench.kernel_counters import process_cpu, schedstat
from bench.loadgen import command_line, percentile, split_cpus
from bench.sfu import run_step
from bench.sfu_node import Control, make_realtime, spawn_node_process
from bench.sfu_peer import Peer, publish_forever
from switchboard.media.dtls import DtlsCertificate

# ── one Janus step ────────────────────────────────────────────────────────────────────


async def janus_call(
    api: JanusApi, size: int, args: argparse.Namespace
) -> tuple[list[Peer], list[Peer], dict[str, int]]:
    """N publishers and N subscribers in a new room; their peers and each SSRC's routes."""
    certificate = DtlsCertificate()
    loop = asyncio.get_running_loop()
    admin = await api.attach()
    room = random.randrange(1, 2**31)
    await api.message(
        admin,
        {
            "request": "create",
            "room": room,
            "publishers": size,
            "bitrate": 0,
            "fir_freq": 0,
            "audiocodec": "opus",
            "videocodec": "vp8",
            "notify_joining": False,
        },
    )
    publishers: list[Peer] = []
    feeds: list[int] = []
    for index in range(size):
        leg = JanusLeg(HOST, certificate)
        peer = Peer(index, (HOST, 0), index == 0, False, sock=leg.sock)
        handle = await api.attach()
        offer = leg.publisher_offer(peer.audio_ssrc, peer.video_ssrc)
        body = {"request": "joinandconfigure", "room": room, "ptype": "publisher"}
        await api.message(
            handle, {**body, "audio": True, "video": True}, {"type": "offer", "sdp": offer}
        )
        event = await api.event_with_jsep(handle)
        feeds.append(event["plugindata"]["data"]["id"])
        remote = parse_sdp(event["jsep"]["sdp"])
        keys = await leg.connect(remote)
        assert remote.candidate is not None
        peer.node = remote.candidate
        peer.set_keys(keys.local, keys.remote, keys.profile)
        loop.add_reader(peer.sock.fileno(), peer.on_readable)  # Janus's RTCP (PLI)
        publishers.append(peer)
    subscribers: list[Peer] = []
    routes = {str(p.audio_ssrc): size - 1 for p in publishers}
    routes.update({str(p.video_ssrc): 0 for p in publishers})
    for index in range(size):
        others = [j for j in range(size) if j != index]
        watched = others[: args.max_video]
        streams = [{"feed": feeds[j], "mid": "0"} for j in others]
        streams += [{"feed": feeds[j], "mid": "1"} for j in watched]
        for j in watched:
            routes[str(publishers[j].video_ssrc)] += 1
        handle = await api.attach()
        body = {"request": "join", "room": room, "ptype": "subscriber", "streams": streams}
        await api.message(handle, body)
        remote = parse_sdp((await api.event_with_jsep(handle))["jsep"]["sdp"])
        leg = JanusLeg(HOST, certificate)
        answer = leg.subscriber_answer(remote)
        await api.message(handle, {"request": "start"}, {"type": "answer", "sdp": answer})
        keys = await leg.connect(remote)
        assert remote.candidate is not None
        peer = Peer(index, remote.candidate, False, False, sock=leg.sock)
        peer.stamp_in_payload = True
        peer.set_keys(keys.local, keys.remote, keys.profile)
        loop.add_reader(peer.sock.fileno(), peer.on_readable)
        subscribers.append(peer)
    return publishers, subscribers, routes


async def run_janus_step(
    api: JanusApi, size: int, args: argparse.Namespace, pid: int
) -> dict[str, Any]:
    publishers, subscribers, routes = await janus_call(api, size, args)
    if args.realtime:
        make_realtime(pid)  # every thread Janus has now (one or more per PeerConnection)
    peers = publishers + subscribers
    task = asyncio.create_task(publish_forever(publishers, args.video_kbps))
    try:
        await asyncio.sleep(args.warmup)
        cpu_before, own_before = process_cpu(pid), schedstat()
        received_before = sum(p.received for p in subscribers)
        started = time.perf_counter()
        for peer in peers:
            peer.window = (started, float("inf"))
        await asyncio.sleep(args.duration)
        ended = time.perf_counter()
        for peer in peers:
            peer.window = (started, ended)
        cpu_after, own_after = process_cpu(pid), schedstat()
        received_after = sum(p.received for p in subscribers)
        await asyncio.sleep(args.drain)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        loop = asyncio.get_running_loop()
        for peer in peers:
            loop.remove_reader(peer.sock.fileno())
            peer.close()
    window = ended - started
    expected = sum(n * routes[str(ssrc)] for p in publishers for ssrc, n in p.sent.items())
    received = sum(p.received_in_window for p in subscribers)
    forwarded_pps = (received_after - received_before) / window
    cpu = cpu_after - cpu_before
    streams = sum(routes.values())
    latencies = sorted(x for p in subscribers for x in p.latencies)
    late = len(latencies) - bisect.bisect_right(latencies, args.late_ms / 1000)
    return {
        "sfu": "janus",
        "participants": size,
        "streams": streams,
        "expected_pps": expected / window,
        "forwarded_pps": forwarded_pps,  # what subscribers received: Janus counts nothing here
        "loss_pct": 100 * (1 - (received - late) / expected) if expected else 0.0,
        "cpu_pct": 100 * cpu / window,
        "cpu_us_per_packet": 1e6 * cpu / (forwarded_pps * window) if forwarded_pps else 0.0,
        "cpu_pct_per_stream": 100 * cpu / window / max(1, streams),
        "loadgen_cpu_pct": 100 * (own_after[0] - own_before[0]) / window,
        "auth_failures": sum(p.auth_failures for p in peers),
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
    }


def _ours(result: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "sfu": name,
        "participants": result["participants"],
        "streams": result["streams"],
        "expected_pps": result["expected_pps"],
        "forwarded_pps": result["forwarded_pps"],
        "loss_pct": result["loss_pct"],
        "cpu_pct": result["node_cpu_pct"],
        "cpu_us_per_packet": result["cpu_us_per_packet"],
        "cpu_pct_per_stream": result["cpu_pct_per_stream"],
        "loadgen_cpu_pct": result["loadgen_cpu_pct"],
        "auth_failures": result["loadgen_auth_failures"],
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
    }


async def run_all(args: argparse.Namespace, sfu_cpu: int | None) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with spawn_janus(sfu_cpu) as (url, pid):
        for size in args.steps:
            print(f"janus: {size} participants", file=sys.stderr)
            api = JanusApi(url)
            await api.start()
            try:
                results.append(await run_janus_step(api, size, args, pid))
            finally:
                await api.close()
    with spawn_node_process(sfu_cpu) as (port, pid):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        control = Control(reader, writer)
        try:
            for size in args.steps:
                print(f"switchboard: {size} participants", file=sys.stderr)
                ours = await run_step(control, size, args, plain=False, node_pid=pid)
                results.append(_ours(ours, "switchboard"))
                plain = await run_step(control, size, args, plain=True, node_pid=pid)
                results.append(_ours(plain, "ceiling"))
        finally:
            writer.close()
    return results


def print_table(results: Sequence[dict[str, Any]], command: str) -> None:
    print("benchmark janus vs switchboard (same call on the same pinned core, one after the other)")
    print(
        f"{'sfu':12} {'N':>3} {'streams':>7} {'expected/s':>10} {'forwarded/s':>11} "
        f"{'loss %':>7} {'sfu cpu':>7} {'µs/pkt':>7} {'%cpu/stream':>11} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'loadgen':>7}"
    )
    for r in sorted(results, key=lambda r: (r["participants"], r["sfu"] != "janus")):
        print(
            f"{r['sfu']:12} {r['participants']:>3} {r['streams']:>7} {r['expected_pps']:>10,.0f} "
            f"{r['forwarded_pps']:>11,.0f} {r['loss_pct']:>7.3f} {r['cpu_pct']:>6.1f}% "
            f"{r['cpu_us_per_packet']:>7.2f} {r['cpu_pct_per_stream']:>11.4f} "
            f"{r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['loadgen_cpu_pct']:>6.0f}%"
        )
    print("ceiling: the plain fan-out in our node's process (no SRTP, no forwarder), same run")
    print(f"command  {command}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.janus", description=__doc__)
    parser.add_argument("--in-namespace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=lambda s: [int(x) for x in s.split(",")], default=[8])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--drain", type=float, default=1.0)
    parser.add_argument("--video-kbps", type=int, default=1000)
    parser.add_argument("--max-video", type=int, default=16)
    parser.add_argument("--verify-every", type=int, default=8)
    parser.add_argument("--late-ms", type=float, default=200.0)
    parser.add_argument("--realtime", action="store_true", help="SCHED_FIFO all three (root)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.in_namespace:
        return enter_namespace(argv)
    set_up_namespace()
    command = command_line("python -m bench.janus", [a for a in argv if a != "--in-namespace"])
    sfu_cpu, load_cpu = split_cpus()
    args.node_cpu = sfu_cpu or 0
    if load_cpu is not None:
        os.sched_setaffinity(0, {load_cpu})
    if args.realtime:
        make_realtime(os.getpid())
    results = uvloop.run(run_all(args, sfu_cpu))
    print_table(results, command)
    if args.json:
        print(json.dumps({"benchmark": "janus", "steps": results}))
    return 0 if results and all(r["forwarded_pps"] > 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
