"""SFU benchmark: synthetic SRTP publishers and subscribers on loopback against a media node.

Two processes, one core each (``--spawn``): the media node (``python -m bench.sfu node``,
bench/sfu_node.py) on the first CPU, this load generator on the second. Each load step is one
call of N participants; every participant publishes an Opus-sized audio stream (50 packets/s,
~100 bytes, RFC 6464 audio level) and a VP8-sized video stream (30 frames/s, ``--video-kbps``,
~1,100-byte packets) and subscribes to everybody else: everyone's audio, and video from at
most ``--max-video`` others (the node's default, 16: above 17 participants not every stream
is wanted, so the node forwards fewer than N × (N − 1) video streams *by design*).

    load generator (CPU 1)                         media node (CPU 0)
    publisher: SRTP(perf_counter in payload) ─UDP─▶ unprotect ─▶ forwarder ─▶ rewrite,
    subscriber: unprotect, now − stamp ◀────UDP──── protect, sendto (once per route)
                control: create call, add participants, keys, publish, stats ◀─TCP─▶

The loss account is exact: publishers count what they send inside the window, subscribers
count what they receive *that was sent inside the window* (the stamp says), after a drain;
the expected count is each publisher's sends × its routes (subscribers the node says it
forwards that SSRC to). Where a loss happened is told by the kernel's per-socket drop
counters (the node's sockets, the load generator's) and the node's own send drops; whether
the node's core was idle or busy with other processes by ``/proc/stat`` (``core``).

On a shared machine neither process may get its core; ``--realtime`` (root) runs both under
SCHED_FIFO, as on a host whose cores are the SFU's, which is what the per-core figure means.
``--socket-buffer`` sets the node's SO_RCVBUF/SO_SNDBUF ask (default: the node's own).

Each step is followed by the same step against the ceiling (``--no-ceiling`` to skip): a
plain fan-out in the same node process (read, sendto per route; no SRTP, no forwarder), with
the same load generator sending and counting plain packets. ``--sweep`` adds participants
until the loss passes ``--max-loss`` and reports the packets/s per core below it.
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

from bench.kernel_counters import cpu_times, schedstat, udp_drops
from bench.loadgen import command_line, percentile, split_cpus
from bench.sfu_node import Control, make_realtime, serve_node, spawn_node, spawn_node_process
from bench.sfu_peer import AUDIO_PT, LEVEL_ID, VIDEO_PT, Peer, frame_packets, publish_forever
from switchboard.media import transport

__all__ = ["Control", "spawn_node"]  # bench/datachannel.py's

_INF = float("inf")

# ── one load step ─────────────────────────────────────────────────────────────────────


async def join(
    control: Control, call: str, size: int, plain: bool, args: argparse.Namespace
) -> list[Peer]:
    max_video = args.max_video
    await control("create_call", call=call, plain=plain, max_video=max_video)
    peers: list[Peer] = []
    loop = asyncio.get_running_loop()
    for index in range(size):
        answer = await control(
            "add_participant", call=call, participant=f"p{index}", max_video=max_video
        )
        peer = Peer(index, (answer["host"], answer["port"]), index == 0, plain)
        peer.verify_every = args.verify_every
        await control(
            "set_keys",
            call=call,
            participant=peer.id,
            local=peer.node_key.hex(),
            remote=peer.my_key.hex(),
            remote_host="127.0.0.1",
            remote_port=peer.port,
        )
        if not plain:
            for kind, ssrc, pt in (
                ("audio", peer.audio_ssrc, AUDIO_PT),
                ("video", peer.video_ssrc, VIDEO_PT),
            ):
                level_id = LEVEL_ID if kind == "audio" else 0
                await control(
                    "publish",
                    call=call,
                    participant=peer.id,
                    kind=kind,
                    ssrc=ssrc,
                    pt=pt,
                    level_id=level_id,
                )
        loop.add_reader(peer.sock.fileno(), peer.on_readable)
        peers.append(peer)
    return peers


def plain_routes(peers: Sequence[Peer], max_video: int) -> dict[str, int]:
    """The ceiling's routes, as the plain fan-out computes them (join order)."""
    n = len(peers)
    routes = {}
    for i, peer in enumerate(peers):
        routes[str(peer.audio_ssrc)] = n - 1
        # subscriber j watches the first max_video others in join order
        routes[str(peer.video_ssrc)] = sum(
            1 for j in range(n) if j != i and i in [k for k in range(n) if k != j][:max_video]
        )
    return routes


async def run_step(
    control: Control, size: int, args: argparse.Namespace, *, plain: bool, node_pid: int | None
) -> dict[str, Any]:
    call = f"bench-{size}-{random.getrandbits(24):06x}"
    peers = await join(control, call, size, plain, args)
    if getattr(args, "realtime", False) and node_pid:
        make_realtime(node_pid)  # every thread it has now
    node_ports = [peer.node[1] for peer in peers]
    peer_ports = [peer.port for peer in peers]
    publisher = asyncio.create_task(publish_forever(peers, args.video_kbps))
    try:
        await asyncio.sleep(args.warmup)
        drops_before = udp_drops(node_ports), udp_drops(peer_ports)
        blocked_before = sum(p.send_blocked for p in peers)
        before = await control("stats")
        own_before, core_before = schedstat(), cpu_times(args.node_cpu)
        received_before = sum(p.received for p in peers)
        started = time.perf_counter()
        for peer in peers:
            peer.window = (started, _INF)
        await asyncio.sleep(args.duration)
        ended = time.perf_counter()
        for peer in peers:
            peer.window = (started, ended)
        own_after, core_after = schedstat(), cpu_times(args.node_cpu)
        received_after = sum(p.received for p in peers)
        after = await control("stats")
        await asyncio.sleep(args.drain)  # late packets of the window still count
        drops_after = udp_drops(node_ports), udp_drops(peer_ports)
        blocked_after = sum(p.send_blocked for p in peers)
    finally:
        publisher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await publisher
        for peer in peers:
            asyncio.get_running_loop().remove_reader(peer.sock.fileno())
            peer.close()
        await control("end_call", call=call)
    window = ended - started
    routes = plain_routes(peers, args.max_video) if plain else after["routes"]
    expected = sum(n * routes.get(str(ssrc), 0) for p in peers for ssrc, n in p.sent.items())
    received = sum(p.received_in_window for p in peers)
    latencies = sorted(x for p in peers for x in p.latencies)
    late = len(latencies) - bisect.bisect_right(latencies, args.late_ms / 1000)
    node_window = after["time"] - before["time"]  # the node's counters span its own interval
    forwarded = after["forwarded"] - before["forwarded"]
    node_cpu = after["cpu"] - before["cpu"]
    busy, total = (a - b for a, b in zip(core_after, core_before, strict=True))
    per_frame = frame_packets(args.video_kbps)
    video_routes = sum(routes.get(str(p.video_ssrc), 0) for p in peers)
    return {
        "ceiling": plain,
        "participants": size,
        "streams": sum(routes.values()),
        "nominal_pps": size * (size - 1) * 50 + video_routes * 30 * per_frame,
        "expected_pps": expected / window,
        "forwarded_pps": forwarded / node_window,
        "received_pps": (received_after - received_before) / window,
        "node_in_pps": (after["received"] - before["received"]) / node_window,
        "loss_pct": 100 * (1 - (received - late) / expected) if expected else 0.0,
        "never_arrived_pct": 100 * (1 - received / expected) if expected else 0.0,
        "late_pct": 100 * late / expected if expected else 0.0,
        "node_socket_drops": drops_after[0] - drops_before[0],
        "loadgen_socket_drops": drops_after[1] - drops_before[1],
        "node_send_drops": after["send_drops"] - before["send_drops"],
        "loadgen_send_blocked": blocked_after - blocked_before,
        "waiting_drops": after["waiting_drops"] - before["waiting_drops"],
        "node_cpu_pct": 100 * node_cpu / node_window,
        "core_busy_pct": 100 * busy / total if total else 0.0,
        "cpu_us_per_packet": 1e6 * node_cpu / forwarded if forwarded else 0.0,
        "pps_per_core": forwarded / node_cpu if node_cpu else 0.0,
        "cpu_pct_per_stream": 100 * node_cpu / node_window / max(1, sum(routes.values())),
        "loadgen_auth_failures": sum(p.auth_failures for p in peers),
        "loadgen_cpu_pct": 100 * (own_after[0] - own_before[0]) / window,
        "receive_buffer": after["receive_buffer"],
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
        "max_ms": 1000 * (latencies[-1] if latencies else 0.0),
    }


def print_table(results: Sequence[dict[str, Any]], args: argparse.Namespace, command: str) -> None:
    print(
        "benchmark sfu (N participants, audio to all others, video to at most "
        f"{args.max_video} others; ceiling = plain fan-out, same node process, same run)"
    )
    print(
        f"{'':8} {'N':>3} {'routes':>6} {'expected/s':>10} {'forwarded/s':>11} {'loss %':>7} "
        f"{'late %':>7} "
        f"{'drops n/l/s':>12} {'node cpu':>8} {'core':>5} {'µs/pkt':>6} "
        f"{'pkt/s/core':>10} {'p50 ms':>7} {'p99 ms':>7} {'loadgen':>7}"
    )
    for r in results:
        drops = f"{r['node_socket_drops']}/{r['loadgen_socket_drops']}/{r['node_send_drops']}"
        print(
            f"{'ceiling' if r['ceiling'] else 'sfu':8} {r['participants']:>3} {r['streams']:>6} "
            f"{r['expected_pps']:>10,.0f} {r['forwarded_pps']:>11,.0f} {r['loss_pct']:>7.3f} "
            f"{r['late_pct']:>7.3f} "
            f"{drops:>12} {r['node_cpu_pct']:>7.0f}% {r['core_busy_pct']:>4.0f}% "
            f"{r['cpu_us_per_packet']:>6.1f} {r['pps_per_core']:>10,.0f} "
            f"{r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['loadgen_cpu_pct']:>6.0f}%"
        )
    ours = [r for r in results if not r["ceiling"]]
    clean = [r for r in ours if r["loss_pct"] < args.max_loss]
    if clean:
        best = max(clean, key=lambda r: r["forwarded_pps"])
        ceiling = [r for r in results if r["ceiling"] and r["participants"] == best["participants"]]
        tail = (
            f"; ceiling at N = {best['participants']}: {ceiling[0]['pps_per_core']:,.0f} pkt/s "
            f"per core ({ceiling[0]['cpu_us_per_packet']:.1f} µs/pkt)"
            if ceiling
            else ""
        )
        print(
            f"loss < {args.max_loss} %: up to {best['forwarded_pps']:,.0f} forwarded pkt/s "
            f"(N = {best['participants']}) at {best['node_cpu_pct']:.0f}% of the node's core: "
            f"{best['pps_per_core']:,.0f} pkt/s per core{tail}"
        )
    else:
        print(f"no step kept the loss below {args.max_loss} %")
    print(
        f"loss: sent in the window, not received or received over {args.late_ms:.0f} ms late "
        "(late %: the latter); drops n/l/s: kernel drops at the node's sockets / the load "
        "generator's / node send; core: the node's CPU busy, whoever ran there"
    )
    print(f"command  {command}")


# ── driver ────────────────────────────────────────────────────────────────────────────


async def run_all(
    node_host: str, control_port: int, args: argparse.Namespace, node_pid: int | None
) -> list[dict[str, Any]]:
    reader, writer = await asyncio.open_connection(node_host, control_port)
    control = Control(reader, writer)
    results: list[dict[str, Any]] = []
    sizes = list(args.steps)
    try:
        while sizes:
            size = sizes.pop(0)
            print(f"step: {size} participants", file=sys.stderr)
            result = await run_step(control, size, args, plain=False, node_pid=node_pid)
            results.append(result)
            if args.ceiling:
                results.append(await run_step(control, size, args, plain=True, node_pid=node_pid))
            if args.sweep and not sizes and result["loss_pct"] < args.max_loss:
                sizes.append(size + args.sweep)  # on until the loss shows
    finally:
        writer.close()
    return results


def main(argv: Sequence[str]) -> int:
    if argv and argv[0] == "node":
        parser = argparse.ArgumentParser(prog="python -m bench.sfu node")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=7700)
        parser.add_argument("--socket-buffer", type=int, default=0)
        node_args = parser.parse_args(argv[1:])
        if node_args.socket_buffer:
            transport.SOCKET_BUFFER = node_args.socket_buffer
        with contextlib.suppress(KeyboardInterrupt):
            uvloop.run(serve_node(node_args.host, node_args.port))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.sfu")
    parser.add_argument("--spawn", action="store_true", help="start a pinned media node")
    parser.add_argument("--node", default="127.0.0.1:7700", help="control address of a node")
    parser.add_argument(
        "--steps", type=lambda s: [int(x) for x in s.split(",")], default=[4, 8, 12, 16, 20]
    )
    parser.add_argument("--sweep", type=int, default=0, help="after the steps, add this many")
    parser.add_argument("--max-loss", type=float, default=0.1, help="percent, for --sweep")
    parser.add_argument(
        "--late-ms", type=float, default=200.0, help="a packet later than this counts as lost"
    )
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--drain", type=float, default=1.0)
    parser.add_argument("--video-kbps", type=int, default=1000)
    parser.add_argument("--max-video", type=int, default=16)
    parser.add_argument(
        "--verify-every", type=int, default=8, help="decrypt 1 in this many received packets"
    )
    parser.add_argument("--no-ceiling", dest="ceiling", action="store_false")
    parser.add_argument("--cpu", type=int, help="pin the load generator (without --spawn)")
    parser.add_argument("--realtime", action="store_true", help="SCHED_FIFO both (root)")
    parser.add_argument("--socket-buffer", type=int, default=0, help="the node's, bytes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    command = command_line("python -m bench.sfu", list(argv))
    host = args.node.rsplit(":", 1)[0]
    args.node_cpu = 0

    def run(port: int, pid: int | None) -> list[dict[str, Any]]:
        return uvloop.run(run_all(host, port, args, pid))

    if args.spawn:
        node_cpu, load_cpu = split_cpus()
        args.node_cpu = node_cpu or 0
        if load_cpu is not None:
            os.sched_setaffinity(0, {load_cpu})
        extra = ("--socket-buffer", str(args.socket_buffer)) if args.socket_buffer else ()
        with spawn_node_process(node_cpu, extra) as (port, pid):
            if args.realtime:
                make_realtime(os.getpid())
            results = run(port, pid)
    else:
        if args.cpu is not None:
            os.sched_setaffinity(0, {args.cpu})
        results = run(int(args.node.rsplit(":", 1)[1]), None)
    print_table(results, args, command)
    if args.json:
        print(json.dumps({"benchmark": "sfu", "steps": results}))
    return 0 if results and all(r["forwarded_pps"] > 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
