"""Idle real-time sockets: what each held chat WebSocket costs the server in memory.

    python -m bench.idle_sockets --spawn --sockets 10000            # switchboard serve
    python -m bench.idle_sockets --spawn --sockets 10000 --ceiling  # bare Starlette socket
    python -m bench.idle_sockets --spawn --sockets 10000 --server granian

spawn (pinned) ─▶ users (not timed) ─▶ RSS before ─▶ open N ``/chat/realtime`` sockets, each
    waited for until "live" ─▶ hold them ``--hold`` s, answering every heartbeat ping
    ─▶ RSS held ─▶ close them all ─▶ RSS once settled (the heap trimmer's interval)

``--ceiling`` holds the same sockets on ``python -m bench.ceiling serve`` (same TLS, server and
WebSocket implementation; the handler accepts, says "live" and reads): the least a held socket
can cost here, to read the first figure against. The exit status is 1 when a socket failed to
open or was closed while held (a missed heartbeat closes it with 4008).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvloop

from bench.chat import Deliveries, User, connect_listeners, create_users
from bench.loadgen import Endpoint, Target, parse_connection_string, spawn_server, split_cpus

PROG = "python -m bench.idle_sockets"
USERS = 100  # the sockets cycle over them: a user may hold many


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def hold(
    args: argparse.Namespace, endpoint: Endpoint, target: Target, pid: int
) -> dict[str, Any]:
    if args.ceiling:
        users = [User("", "ceiling")]  # the bare endpoint reads no token
    else:
        users = await create_users(endpoint, target, min(USERS, args.sockets))
    await asyncio.sleep(1.0)  # let the server's setup garbage go (a trim interval is 5 s)
    before = rss_kib(pid)
    started = time.perf_counter()
    tokens = [users[i % len(users)] for i in range(args.sockets)]
    listeners = await connect_listeners(endpoint, target, tokens, Deliveries())
    opened = time.perf_counter() - started
    print(f"{len(listeners)} sockets live in {opened:.1f} s; holding", file=sys.stderr)
    await asyncio.sleep(args.hold)  # the measured state: sockets idle, heartbeats answered
    held = rss_kib(pid)
    dropped = [x.closed.result() for x in listeners if x.closed.done()]
    for listener in listeners:
        listener.close()
    await asyncio.sleep(args.settle)
    after = rss_kib(pid)
    return {
        "sockets": len(listeners),
        "rss_before_kib": before,
        "rss_held_kib": held,
        "rss_after_close_kib": after,
        "kib_per_socket": round((held - before) / max(1, len(listeners)), 1),
        "open_seconds": round(opened, 1),
        "held_seconds": args.hold,
        "dropped": len(dropped),
        "first_drop": dropped[0] if dropped else None,
    }


def report(figures: dict[str, Any], title: str, command: str) -> str:
    return "\n".join(
        [
            title,
            f"  sockets      {figures['sockets']:,} opened in {figures['open_seconds']} s, "
            f"held {figures['held_seconds']:g} s",
            f"  rss before   {figures['rss_before_kib'] / 1024:,.1f} MB",
            f"  rss held     {figures['rss_held_kib'] / 1024:,.1f} MB",
            f"  per socket   {figures['kib_per_socket']:,.1f} KB   (held − before) ÷ sockets",
            f"  after close  {figures['rss_after_close_kib'] / 1024:,.1f} MB   all closed, "
            "then settled",
            f"  dropped      {figures['dropped']}"
            + (f" (first: {figures['first_drop']})" if figures["first_drop"] else ""),
            f"  command      {command}",
        ]
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--spawn", action="store_true", help="required: RSS is read via /proc")
    parser.add_argument("--sockets", type=int, default=5_000)
    parser.add_argument("--hold", type=float, default=35.0, help="≥ two 15 s heartbeats")
    parser.add_argument("--settle", type=float, default=7.0)
    parser.add_argument("--ceiling", action="store_true", help="bare Starlette endpoint")
    parser.add_argument("--server", choices=["uvicorn", "granian"], default="uvicorn")
    parser.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if not args.spawn or args.sockets < 1 or args.hold < 0:
        print("need --spawn, --sockets >= 1 and --hold >= 0", file=sys.stderr)
        return 2
    command = f"{PROG} {' '.join(argv)}"
    server_cpu, client_cpu = split_cpus()
    module = (
        ("bench.ceiling", "serve", "--server", args.server)
        if args.ceiling
        else ("switchboard", "serve", "--port", "0")
    )
    os.environ["SWITCHBOARD_HTTP_SERVER"] = args.server  # the spawned server inherits it
    try:
        with spawn_server(server_cpu, module=module) as server:
            if client_cpu is not None:
                os.sched_setaffinity(0, {client_cpu})
            endpoint = parse_connection_string(server.connection_string)
            target = Target.for_endpoint(endpoint, server.ca)
            figures = uvloop.run(hold(args, endpoint, target, server.pid))
    except (OSError, ValueError, RuntimeError, ExceptionGroup) as exc:
        while isinstance(exc, ExceptionGroup):
            exc = exc.exceptions[0]
        print(f"FAILED: {exc!r}", file=sys.stderr)
        return 1
    what = "ceiling: bare Starlette WebSocket" if args.ceiling else "switchboard /chat/realtime"
    print(report(figures, f"benchmark idle sockets ({what}, {args.server}, TLS)", command))
    if args.json:
        print(json.dumps({"benchmark": "idle_sockets", **figures, "command": command}))
    return 1 if figures["dropped"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
