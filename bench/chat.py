"""Benchmark: chat sends (``POST /chat/threads/{id}/messages``) and real-time delivery.

Setup (not timed): ``threads × listeners`` users with chat tokens, one thread per group of
``listeners`` users, and one WebSocket (``/chat/realtime``, live from now) per user. The first
user of each thread is its sender; its bearer request is built once (tokens last 24 h).

Timed, in one process: the raw load generator posts the messages while the listeners read
their events. Each request gets ``time.perf_counter()`` written into the message content
just before it leaves (``stamp``); a listener that finds it in an event computes the
send → delivery latency on the same clock.

    closed loop:  python -m bench.chat --spawn --threads 20 --concurrency 64
                  (durable sends/s = 201s/s; target ≥ 2,000 with 10 listeners a thread)
    paced:        python -m bench.chat --spawn --clients 1000 --rate 500
                  (delivery p99 at 1,000 clients and 500 msgs/s; target ≤ 50 ms)
    PostgreSQL:   python -m bench.chat --spawn --postgres postgresql://user@127.0.0.1:5432/db
                  (the spawned server on a fresh database made on that server, dropped after)

The listeners speak just enough RFC 6455 to be cheap (no permessage-deflate, which the
server would otherwise spend CPU on for every frame): handshake, unmasked server frames,
masked pongs, and the protocol's JSON ping → pong (docs/realtime.md).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import json
import os
import sys
import time
from array import array
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import cast
from urllib.parse import quote

import asyncpg
import uvloop

from bench.loadgen import (
    MAX_ERROR_RATE,
    Endpoint,
    RunStats,
    SimpleClient,
    Target,
    add_common_arguments,
    bearer_request,
    build_request,
    command_line,
    parse_connection_string,
    percentile,
    run_load,
    same_run_ceiling,
    spawn_server,
    split_cpus,
)

PROG = "python -m bench.chat"
IDENTITY_API = "2023-10-01"
CHAT_API = "2024-03-07"
MARK = b"sbts="  # message content: MARK + perf_counter, fixed width
WIDTH = 20
PLACEHOLDER = MARK + b"0" * WIDTH
PING = b'"type":"ping"'
LIVE = b'"type":"live"'
PONG = b'{"type":"pong"}'


# ── setup: users, threads, requests ───────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class User:
    id: str
    token: str


async def create_users(endpoint: Endpoint, target: Target, count: int) -> list[User]:
    path = f"/identities?api-version={IDENTITY_API}"
    body = json.dumps({"createTokenWithScopes": ["chat"]}).encode()
    users: list[User] = []

    async def worker(share: int) -> None:
        client = await SimpleClient.connect(target)
        try:
            for _ in range(share):
                raw = build_request(
                    "POST", path, endpoint.authority, key=endpoint.access_key, body=body
                )
                response = await client.request(raw)
                if response.status != 201:
                    raise RuntimeError(f"create identity: HTTP {response.status}")
                created = json.loads(response.body)
                users.append(User(created["identity"]["id"], created["accessToken"]["token"]))
        finally:
            await client.close()

    await _shared(worker, count)
    return users


async def create_threads(
    endpoint: Endpoint, target: Target, groups: Sequence[Sequence[User]]
) -> list[str]:
    path = f"/chat/threads?api-version={CHAT_API}"
    ids: list[str] = [""] * len(groups)
    queue = list(enumerate(groups))

    async def worker(share: int) -> None:
        client = await SimpleClient.connect(target)
        try:
            for _ in range(share):
                index, group = queue.pop()
                participants = [
                    {"communicationIdentifier": {"rawId": u.id, "communicationUser": {"id": u.id}}}
                    for u in group
                ]
                body = json.dumps({"topic": f"bench {index}", "participants": participants})
                raw = bearer_request(
                    "POST", path, endpoint.authority, group[0].token, body=body.encode()
                )
                response = await client.request(raw)
                if response.status != 201:
                    raise RuntimeError(f"create thread: HTTP {response.status} {response.body!r}")
                ids[index] = json.loads(response.body)["chatThread"]["id"]
        finally:
            await client.close()

    await _shared(worker, len(groups))
    return ids


async def _shared(
    worker: Callable[[int], Coroutine[None, None, None]], count: int, connections: int = 8
) -> None:
    """Split ``count`` setup calls over a few keep-alive connections."""
    connections = max(1, min(connections, count))
    shares = [count // connections + (i < count % connections) for i in range(connections)]
    async with asyncio.TaskGroup() as tasks:
        for share in shares:
            tasks.create_task(worker(share))


def message_requests(
    endpoint: Endpoint, senders: Sequence[User], threads: Sequence[str]
) -> list[bytes]:
    """One pre-built send per thread, by its first member; the content is the placeholder."""
    body = json.dumps(
        {"content": PLACEHOLDER.decode(), "type": "text", "senderDisplayName": "bench"}
    ).encode()
    return [
        bearer_request(
            "POST",
            f"/chat/threads/{quote(thread_id, safe='')}/messages?api-version={CHAT_API}",
            endpoint.authority,
            sender.token,
            body=body,
        )
        for sender, thread_id in zip(senders, threads, strict=True)
    ]


class Stamper:
    """Writes the send time into each request (same length) and keeps every send time."""

    def __init__(self) -> None:
        self.sent = array("d")

    def __call__(self, request: bytes) -> bytes:
        now = time.perf_counter()
        self.sent.append(now)
        return request.replace(PLACEHOLDER, MARK + f"{now:0{WIDTH}.6f}".encode(), 1)


# ── listeners: a minimal WebSocket client ────────────────────────────────────────────


class Deliveries:
    """(send time, arrival time) of every message event any listener received."""

    def __init__(self) -> None:
        self.sent = array("d")
        self.arrived = array("d")

    def __len__(self) -> int:
        return len(self.sent)


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked, unfragmented client frame (payload < 126 bytes: pongs and closes)."""
    key = os.urandom(4)
    masked = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + key + masked


class Listener(asyncio.Protocol):
    """One user's ``/chat/realtime`` WebSocket; records message deliveries, answers pings."""

    def __init__(self, handshake: bytes, deliveries: Deliveries) -> None:
        self._handshake = handshake
        self._deliveries = deliveries
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._upgraded = False
        loop = asyncio.get_running_loop()
        self.live: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[str] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._transport.write(self._handshake)

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(f"connection lost: {exc!r}")

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(client_frame(0x8, (1000).to_bytes(2, "big")))
            self._transport.close()

    def _end(self, why: str) -> None:
        if not self.closed.done():
            self.closed.set_result(why)
        if not self.live.done():
            self.live.set_exception(ConnectionError(why))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buffer = self._buffer
        buffer += data
        position = 0
        if not self._upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self._end(f"handshake refused: {bytes(buffer[:40])!r}")
                return
            self._upgraded = True
            position = end + 4
        size = len(buffer)
        while size - position >= 2:
            first, second = buffer[position], buffer[position + 1]
            length, start = second & 0x7F, position + 2
            if length == 126:
                if size - position < 4:
                    break
                length, start = int.from_bytes(buffer[position + 2 : position + 4]), position + 4
            elif length == 127:
                if size - position < 10:
                    break
                length, start = int.from_bytes(buffer[position + 2 : position + 10]), position + 10
            if size - start < length:
                break
            payload = bytes(buffer[start : start + length])
            position = start + length
            self._frame(first & 0x0F, payload, now)
        del buffer[:position]

    def _frame(self, opcode: int, payload: bytes, now: float) -> None:
        transport = self._transport
        assert transport is not None
        if opcode == 0x1:
            at = payload.find(MARK)
            if at >= 0:
                start = at + len(MARK)
                self._deliveries.sent.append(float(payload[start : start + WIDTH]))
                self._deliveries.arrived.append(now)
            elif PING in payload:
                transport.write(client_frame(0x1, PONG))
            elif LIVE in payload and not self.live.done():
                self.live.set_result(None)
        elif opcode == 0x9:
            transport.write(client_frame(0xA, payload[:125]))
        elif opcode == 0x8:
            code = int.from_bytes(payload[:2]) if len(payload) >= 2 else 1005
            self._end(f"closed by the server: {code} {payload[2:].decode(errors='replace')}")
            transport.close()


async def connect_listeners(
    endpoint: Endpoint, target: Target, users: Sequence[User], deliveries: Deliveries
) -> list[Listener]:
    """Open every user's WebSocket (a few at a time) and wait until each is live."""
    loop = asyncio.get_running_loop()
    listeners: list[Listener] = []
    pending = list(users)

    async def worker() -> None:
        while pending:
            user = pending.pop()
            key = base64.b64encode(os.urandom(16)).decode()
            handshake = (
                f"GET /chat/realtime HTTP/1.1\r\nHost: {endpoint.authority}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Authorization: Bearer {user.token}\r\n\r\n"
            ).encode()
            _, listener = await loop.create_connection(
                functools.partial(Listener, handshake, deliveries),
                target.host,
                target.port,
                ssl=target.ssl,
                server_hostname=target.server_hostname,
            )
            listeners.append(listener)
            async with asyncio.timeout(30):
                await listener.live

    async with asyncio.TaskGroup() as tasks:
        for _ in range(min(32, len(users))):
            tasks.create_task(worker())
    return listeners


# ── the run and the report ────────────────────────────────────────────────────────────


@dataclass
class DeliveryStats:
    expected: int  # messages sent in the window × listeners per thread
    delivered: int  # of those, deliveries seen
    latencies: Sequence[float]  # seconds, sorted
    listeners: int
    dropped: int  # listeners whose socket closed during the run
    first_drop: str | None

    def latency_ms(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000.0

    def to_dict(self) -> dict[str, object]:
        return {
            "expected": self.expected,
            "delivered": self.delivered,
            "p50_ms": round(self.latency_ms(50), 3),
            "p90_ms": round(self.latency_ms(90), 3),
            "p99_ms": round(self.latency_ms(99), 3),
            "max_ms": round(self.latency_ms(100), 3),
            "listeners": self.listeners,
            "dropped": self.dropped,
        }

    def format_table(self) -> str:
        share = self.delivered / self.expected if self.expected else 0.0
        rows = [
            ("deliveries", f"{self.delivered} of {self.expected} expected ({share:.3%})"),
            ("p50 ms", f"{self.latency_ms(50):.2f}"),
            ("p90 ms", f"{self.latency_ms(90):.2f}"),
            ("p99 ms", f"{self.latency_ms(99):.2f}"),
            ("max ms", f"{self.latency_ms(100):.2f}"),
            ("listeners", f"{self.listeners} WebSockets, {self.dropped} closed during the run"),
        ]
        if self.first_drop:
            rows.append(("first close", self.first_drop))
        width = max(len(name) for name, _ in rows)
        title = "delivery send → event at a listener (perf_counter stamped in the message)"
        return "\n".join([title, *(f"  {name:<{width}}  {value}" for name, value in rows)])


async def bench(
    args: argparse.Namespace, endpoint: Endpoint, target: Target, server_pid: int | None
) -> tuple[RunStats, DeliveryStats]:
    per_thread = args.listeners
    users = await create_users(endpoint, target, args.threads * per_thread)
    groups = [users[i * per_thread : (i + 1) * per_thread] for i in range(args.threads)]
    threads = await create_threads(endpoint, target, groups)
    print(f"created {len(users)} users in {len(threads)} threads", file=sys.stderr)
    deliveries = Deliveries()
    listeners = await connect_listeners(endpoint, target, users, deliveries)
    print(f"{len(listeners)} listeners live", file=sys.stderr)
    stamper = Stamper()
    try:
        stats = await run_load(
            target,
            message_requests(endpoint, [g[0] for g in groups], threads),
            concurrency=args.concurrency,
            duration=args.duration,
            warmup=args.warmup,
            ok_statuses=(201,),
            watch_pids={"server": server_pid} if server_pid else None,
            stamp=stamper,
            rate=args.rate,
        )
        await _settle(deliveries)
    finally:
        for listener in listeners:
            listener.close()
    start, end = stats.window_start, stats.window_start + stats.elapsed
    sent = sum(1 for t in stamper.sent if start <= t < end)
    latencies = sorted(
        arrived - sent_at
        for sent_at, arrived in zip(deliveries.sent, deliveries.arrived, strict=True)
        if start <= sent_at < end
    )
    drops = [x.closed.result() for x in listeners if x.closed.done()]
    delivery = DeliveryStats(
        expected=sent * per_thread,
        delivered=len(latencies),
        latencies=latencies,
        listeners=len(listeners),
        dropped=len(drops),
        first_drop=drops[0] if drops else None,
    )
    return stats, delivery


async def _settle(deliveries: Deliveries, quiet: float = 0.5, limit: float = 10.0) -> None:
    """Wait for the last deliveries: until none arrives for ``quiet`` s (at most ``limit``)."""
    deadline = time.monotonic() + limit
    seen = -1
    while len(deliveries) != seen and time.monotonic() < deadline:
        seen = len(deliveries)
        await asyncio.sleep(quiet)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common_arguments(parser)
    parser.add_argument("--threads", type=int, default=20, help="chat threads (K)")
    parser.add_argument("--listeners", type=int, default=10, help="connected users a thread")
    parser.add_argument(
        "--clients", type=int, help="connected users in all (sets --threads to clients ÷ listeners)"
    )
    parser.add_argument("--rate", type=float, help="pace the sends: messages a second in total")
    database = parser.add_mutually_exclusive_group()
    database.add_argument(
        "--database-url", help="with --spawn: the server's database (default: SQLite in its dir)"
    )
    database.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="with --spawn: a fresh PostgreSQL database made through ADMIN_URL "
        "(postgresql://user@host:port/db), dropped after the run",
    )
    return parser


@contextlib.contextmanager
def fresh_postgres(admin_url: str) -> Iterator[str]:
    """A new, empty database on ``admin_url``'s server (its SQLAlchemy URL), dropped after."""
    name = f"sbbench_{os.getpid()}_{int(time.time())}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def server_command(database_url: str | None) -> tuple[str, ...]:
    command = ("switchboard", "serve", "--port", "0")
    return command if database_url is None else (*command, "--database-url", database_url)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.clients is not None:
        args.threads = max(1, args.clients // max(1, args.listeners))
    if args.threads < 1 or args.listeners < 1 or args.concurrency < 1 or args.duration <= 0:
        print("need --threads, --listeners, --concurrency >= 1 and --duration > 0", file=sys.stderr)
        return 2
    if args.rate is not None and args.rate <= 0:
        print("need --rate > 0", file=sys.stderr)
        return 2
    if (args.database_url or args.postgres) and not args.spawn:
        print("--database-url and --postgres go with --spawn", file=sys.stderr)
        return 2
    if not args.spawn and not args.connection_string:
        print("need --connection-string (or SWITCHBOARD_CONNECTION_STRING) or --spawn")
        return 2
    command = command_line(PROG, argv)
    try:
        if args.spawn:
            server_cpu, client_cpu = split_cpus()
            with contextlib.ExitStack() as stack:
                url = args.database_url
                if args.postgres:
                    url = stack.enter_context(fresh_postgres(args.postgres))
                # A shared, busy machine can take over a minute to start a node.
                spawned = spawn_server(server_cpu, module=server_command(url), startup_timeout=180)
                server = stack.enter_context(spawned)
                print(f"spawned server pid {server.pid} (cpu {server_cpu})", file=sys.stderr)
                if client_cpu is not None:
                    os.sched_setaffinity(0, {client_cpu})
                stats, delivery = _run(args, server.connection_string, server.ca, server.pid)
        else:
            if args.cpu is not None:
                os.sched_setaffinity(0, {args.cpu})
            stats, delivery = _run(args, args.connection_string, args.ca, None)
    except (OSError, ValueError, RuntimeError, ExceptionGroup, asyncpg.PostgresError) as exc:
        while isinstance(exc, ExceptionGroup):
            exc = exc.exceptions[0]
        print(f"FAILED: {exc!r}", file=sys.stderr)
        return 1
    pacing = f"paced at {args.rate:g} msgs/s" if args.rate else "closed loop"
    on_postgres = args.postgres or (args.database_url or "").startswith("postgres")
    store = "PostgreSQL" if on_postgres else ""
    title = (
        f"benchmark chat.sendMessage ({args.threads} threads × {args.listeners} listeners, "
        f"{pacing}, {args.concurrency} sender connections{', ' + store if store else ''})"
    )
    print(stats.format_table(title, ok_label="messages", command=command))
    print(delivery.format_table())
    ceiling = same_run_ceiling(
        args, stats.ok_per_second, "messages", stats.server_cpu_us_per_request
    )
    if args.json:
        figures = {
            "benchmark": "chat.sendMessage",
            **stats.to_dict("messages"),
            "delivery": delivery.to_dict(),
            "threads": args.threads,
            "listeners_per_thread": args.listeners,
            "rate": args.rate,
            "database": "postgresql" if store else "sqlite",
            "command": command,
        }
        if ceiling is not None:
            figures["ceiling"] = ceiling.to_dict("requests")
        print(json.dumps(figures, separators=(",", ":")))
    failed = stats.requests == 0 or stats.error_rate > MAX_ERROR_RATE
    if failed or delivery.dropped or delivery.delivered < delivery.expected:
        print(
            f"FAILED: {stats.error_count} send errors in {stats.requests}; "
            f"{delivery.expected - delivery.delivered} deliveries missing; "
            f"{delivery.dropped} listeners dropped; first error: {stats.first_error}",
            file=sys.stderr,
        )
        return 1
    return 0


def _run(
    args: argparse.Namespace, connection_string: str, ca: str | None, server_pid: int | None
) -> tuple[RunStats, DeliveryStats]:
    endpoint = parse_connection_string(connection_string)
    target = Target.for_endpoint(endpoint, ca)
    return uvloop.run(bench(args, endpoint, target, server_pid))


if __name__ == "__main__":
    raise SystemExit(main())
