"""A cheap HTTP/1.1-over-TLS load generator for benchmarking a Switchboard server.

The server and the load generator share a 2-core machine (one core each), so the client
must cost much less per request than the server: no HTTP client library in the hot loop.
Each connection is an ``asyncio.Protocol`` that writes pre-built request bytes and, from
``data_received``, parses just the status line, ``Content-Length`` and body, records the
latency and writes the next request at once (keep-alive, no pipelining, no task switch):

    build signed request bytes ─▶ run_load: open N TLS connections ─▶ each sends request i,
    waits for its response, sends request i+1 … ─▶ warm-up (not recorded) ─▶ measured
    window ─▶ stop: in-flight requests finish, connections close ─▶ RunStats ─▶ report

HMAC-SHA256 signatures (wire reference 1.2) accept a date within ±15 min, so requests are
signed ahead of time; pass a factory instead of a list and ``run_load`` re-signs them every
``refresh_every`` seconds. ``run_benchmark`` is the command-line driver every benchmark shares
(connection string or ``--spawn`` a pinned server, run, print a table and/or one JSON line).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import uvloop

RequestSource = Sequence[bytes] | Callable[[], Sequence[bytes]]

# ── connection string and HMAC signing ────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What a connection string ``endpoint=https://host:port/;accesskey=KEY`` names."""

    host: str
    port: int
    authority: str  # everything after ``//``: what the SDK signs as ``host``
    access_key: bytes  # base64-decoded
    scheme: str = "https"


def parse_connection_string(text: str) -> Endpoint:
    parts: dict[str, str] = {}
    for part in text.strip().split(";"):
        if "=" in part:
            name, value = part.split("=", 1)
            parts[name.strip().lower()] = value.strip()
    if "endpoint" not in parts or "accesskey" not in parts:
        raise ValueError("connection string needs endpoint=...;accesskey=...")
    url = urlsplit(parts["endpoint"])
    if not url.hostname:
        raise ValueError(f"no host in endpoint {parts['endpoint']!r}")
    port = url.port or (443 if url.scheme == "https" else 80)
    key = base64.b64decode(parts["accesskey"], validate=True)
    return Endpoint(url.hostname, port, url.netloc, key, url.scheme)


def content_sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def http_date(when: float | None = None) -> str:
    """RFC 1123 date in GMT, as ``x-ms-date`` wants it."""
    return formatdate(when, usegmt=True)


def hmac_signature(
    key: bytes, method: str, path_and_query: str, date: str, authority: str, content_hash: str
) -> str:
    string_to_sign = f"{method.upper()}\n{path_and_query}\n{date};{authority};{content_hash}"
    digest = hmac.new(key, string_to_sign.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def build_request(
    method: str,
    path_and_query: str,
    authority: str,
    *,
    key: bytes | None,
    body: bytes = b"",
    date: str | None = None,
    content_type: str | None = "application/json",
    headers: Iterable[tuple[str, str]] = (),
) -> bytes:
    """The full bytes of one HTTP/1.1 request; HMAC-signed when ``key`` is given.

    ``path_and_query`` goes on the wire exactly as given (already percent-encoded) and is
    what gets signed. For bearer-token APIs pass ``key=None`` and an Authorization header.
    """
    lines = [f"{method.upper()} {path_and_query} HTTP/1.1", f"Host: {authority}"]
    if key is not None:
        date = date or http_date()
        content_hash = content_sha256(body)
        signature = hmac_signature(key, method, path_and_query, date, authority, content_hash)
        lines += [
            f"x-ms-date: {date}",
            f"x-ms-content-sha256: {content_hash}",
            "Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256"
            f"&Signature={signature}",
        ]
    lines += [f"{name}: {value}" for name, value in headers]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if body or method.upper() in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def bearer_request(
    method: str, path_and_query: str, authority: str, token: str, *, body: bytes = b""
) -> bytes:
    """A request for a bearer-token API (Chat): JSON body, ``Authorization: Bearer``."""
    headers = [("Authorization", f"Bearer {token}")]
    return build_request(method, path_and_query, authority, key=None, body=body, headers=headers)


# ── response parsing (sans-I/O) ───────────────────────────────────────────────────────


class ProtocolError(Exception):
    """The server sent something this minimal HTTP/1.1 parser does not handle."""


@dataclass(slots=True)
class Response:
    status: int
    head: bytes  # status line and header lines, without the blank line
    body: bytes
    keep_alive: bool

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == wanted:
                return value.strip().decode("latin-1")
        return None


_MAX_HEAD = 64 * 1024


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    """(status, body length, keep-alive) from a response head."""
    if not head.startswith(b"HTTP/1.") or len(head) < 12:
        raise ProtocolError(f"not an HTTP/1.x status line: {head[:40]!r}")
    try:
        status = int(head[9:12])
    except ValueError:
        raise ProtocolError(f"bad status line: {head[:40]!r}") from None
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.find(b"\r\n", at + 17)
        try:
            length = int(lower[at + 17 : end if end >= 0 else len(lower)])
        except ValueError:
            raise ProtocolError("bad Content-Length") from None
    elif status in (204, 304) or status < 200:
        length = 0
    else:
        raise ProtocolError(f"HTTP {status} without Content-Length (chunked is not supported)")
    keep_alive = head[5:8] == b"1.1" and b"\r\nconnection: close" not in lower
    return status, length, keep_alive


class ResponseParser:
    """Turns received bytes into complete responses; keeps partial data between feeds."""

    __slots__ = ("_buffer", "_pending")

    def __init__(self) -> None:
        self._buffer = b""
        self._pending: tuple[int, bytes, int, bool] | None = None

    def feed(self, data: bytes) -> list[Response]:
        buffer = self._buffer + data if self._buffer else data
        size = len(buffer)
        position = 0
        responses: list[Response] = []
        while True:
            pending = self._pending
            if pending is None:
                end = buffer.find(b"\r\n\r\n", position)
                if end < 0:
                    if size - position > _MAX_HEAD:
                        raise ProtocolError("response head too large")
                    break
                head = buffer[position:end]
                status, length, keep_alive = _parse_head(head)
                position = end + 4
                if status < 200:  # 1xx interim response: no body, the real one follows
                    continue
                pending = self._pending = (status, head, length, keep_alive)
            status, head, length, keep_alive = pending
            if size - position < length:
                break
            body = buffer[position : position + length]
            responses.append(Response(status, head, body, keep_alive))
            position += length
            self._pending = None
        self._buffer = buffer[position:] if position < size else b""
        return responses


# ── statistics ────────────────────────────────────────────────────────────────────────


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (a value that was actually observed); 0.0 when empty."""
    if not sorted_values:
        return 0.0
    if not 0 <= p <= 100:
        raise ValueError("percentile must be within 0..100")
    rank = max(1, -int(-p * len(sorted_values) // 100))  # ceil(p/100 * n), at least 1
    return sorted_values[rank - 1]


class Recorder:
    """Hot-path bookkeeping: latencies in a preallocated array, grown by doubling."""

    __slots__ = ("count", "errors", "first_error", "latencies", "ok", "ok_statuses")

    def __init__(self, ok_statuses: Collection[int], capacity: int = 1 << 16) -> None:
        self.ok_statuses = frozenset(ok_statuses)
        self.latencies = array("d", bytes(8 * max(capacity, 1)))
        self.count = 0
        self.ok = 0
        self.errors: dict[str, int] = {}
        self.first_error: str | None = None

    def record(self, latency: float, status: int, body: bytes) -> None:
        count = self.count
        if count == len(self.latencies):
            self.latencies.extend(self.latencies)
        self.latencies[count] = latency
        self.count = count + 1
        if status in self.ok_statuses:
            self.ok += 1
        else:
            self.error(str(status), f"HTTP {status}: {body[:2000].decode('utf-8', 'replace')}")

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if self.first_error is None:
            self.first_error = detail


@dataclass
class RunStats:
    concurrency: int
    warmup: float
    elapsed: float  # length of the measured window, seconds
    requests: int  # responses received in the window (any status)
    ok: int
    errors: dict[str, int]  # "503" → count; "connection" → lost/failed connections
    first_error: str | None
    latencies: Sequence[float]  # seconds, sorted
    cpu_percent: dict[str, float] = field(default_factory=dict)  # "loadgen", "server"
    window_start: float = 0.0  # time.perf_counter() when the measured window opened

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def error_rate(self) -> float:
        total = self.requests + self.errors.get("connection", 0)
        return self.error_count / total if total else 0.0

    @property
    def ok_per_second(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    def latency_ms(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000.0

    @property
    def server_cpu_us_per_request(self) -> float | None:
        """The server's CPU time per response in the window (µs), when it was watched."""
        server = self.cpu_percent.get("server")
        if server is None or not self.requests:
            return None
        return server / 100 * self.elapsed / self.requests * 1e6

    def to_dict(self, ok_label: str = "ok") -> dict[str, object]:
        return {
            "requests": self.requests,
            ok_label: self.ok,
            f"{ok_label}_per_s": round(self.ok_per_second, 1),
            "p50_ms": round(self.latency_ms(50), 3),
            "p90_ms": round(self.latency_ms(90), 3),
            "p99_ms": round(self.latency_ms(99), 3),
            "max_ms": round(self.latency_ms(100), 3),
            "errors": self.error_count,
            "errors_by_kind": self.errors,
            "concurrency": self.concurrency,
            "duration_s": round(self.elapsed, 3),
            "warmup_s": self.warmup,
            "cpu_percent": {k: round(v, 1) for k, v in self.cpu_percent.items()},
            "server_cpu_us_per_response": (
                None if (us := self.server_cpu_us_per_request) is None else round(us, 1)
            ),
        }

    def format_table(self, title: str, *, ok_label: str = "ok", command: str = "") -> str:
        errors = f"{self.error_count} ({self.error_rate:.3%})"
        if self.errors:
            errors += "  " + ", ".join(f"{k}: {v}" for k, v in sorted(self.errors.items()))
        rows = [
            ("requests", f"{self.requests}"),
            (f"{ok_label}/s", f"{self.ok_per_second:,.1f}"),
            ("p50 ms", f"{self.latency_ms(50):.2f}"),
            ("p90 ms", f"{self.latency_ms(90):.2f}"),
            ("p99 ms", f"{self.latency_ms(99):.2f}"),
            ("max ms", f"{self.latency_ms(100):.2f}"),
            ("errors", errors),
            ("concurrency", f"{self.concurrency} keep-alive connections, no pipelining"),
            ("window", f"{self.elapsed:.2f} s measured after {self.warmup:g} s warm-up"),
        ]
        if self.cpu_percent:
            rows.append(("cpu", ", ".join(f"{k} {v:.0f}%" for k, v in self.cpu_percent.items())))
        server_us = self.server_cpu_us_per_request
        if server_us is not None:
            # Steadier than the rate on a shared machine: other work takes the core away,
            # which lowers requests/s but hardly changes what each request costs.
            rows.append(("server cpu", f"{server_us:.0f} µs per response"))
        if command:
            rows.append(("command", command))
        width = max(len(name) for name, _ in rows)
        return "\n".join([title, *(f"  {name:<{width}}  {value}" for name, value in rows)])


def _process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process from /proc (Linux); None when unavailable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ── the load loop ─────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int
    ssl: ssl.SSLContext | None
    server_hostname: str | None = None

    @classmethod
    def for_endpoint(cls, endpoint: Endpoint, cafile: str | None) -> Target:
        if endpoint.scheme != "https":
            return cls(endpoint.host, endpoint.port, None)
        context = ssl.create_default_context(cafile=cafile)
        return cls(endpoint.host, endpoint.port, context, endpoint.host)


Stamp = Callable[[bytes], bytes]


class _Run:
    """State shared by every connection of one run (read in the hot path)."""

    def __init__(
        self,
        requests: Sequence[bytes],
        recorder: Recorder,
        stamp: Stamp | None = None,
        rate: float | None = None,
    ) -> None:
        self.requests = requests
        self.recorder = recorder
        self.recording = False
        self.stopping = False
        self.open: set[_LoadConnection] = set()
        self.stamp = stamp
        self.interval = 1.0 / rate if rate else 0.0  # paced: one request per interval
        self.next_slot = 0.0  # loop time of the next paced request

    def go(self, connection: _LoadConnection) -> None:
        """Send the connection's next request: now, or at the next free slot when paced."""
        if not self.interval:
            connection.send_next()
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = self.next_slot = max(self.next_slot + self.interval, now)
        if slot <= now:
            connection.send_next()
        else:
            connection.waiting = loop.call_at(slot, connection.send_next)

    def abort_all(self) -> None:
        for connection in list(self.open):
            connection.close()


class _LoadConnection(asyncio.Protocol):
    """One keep-alive connection: write a request, await its response, write the next."""

    def __init__(self, run: _Run, next_index: int) -> None:
        self._run = run
        self.next_index = next_index
        self._parser = ResponseParser()
        self._transport: asyncio.Transport | None = None
        self._sent_at = 0.0
        self.in_flight = False
        self.waiting: asyncio.TimerHandle | None = None  # a paced send not yet due
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._run.open.add(self)

    def send_next(self) -> None:
        assert self._transport is not None
        self.waiting = None
        run = self._run
        if self._transport.is_closing():
            return
        if run.stopping:  # a paced send that came due after the window closed
            self._transport.close()
            return
        requests = run.requests
        request = requests[self.next_index % len(requests)]
        self.next_index += 1
        self.in_flight = True
        self._sent_at = time.perf_counter()
        if run.stamp is not None:
            request = run.stamp(request)
        self._transport.write(request)

    def close(self) -> None:
        if self.waiting is not None:
            self.waiting.cancel()
            self.waiting = None
        if self._transport is not None:
            self._transport.abort()

    def data_received(self, data: bytes) -> None:
        run = self._run
        transport = self._transport
        assert transport is not None
        try:
            responses = self._parser.feed(data)
        except ProtocolError as exc:
            run.recorder.error("protocol", str(exc))
            transport.abort()
            return
        for response in responses:
            latency = time.perf_counter() - self._sent_at
            if not self.in_flight:
                run.recorder.error("protocol", "response without a request")
                transport.abort()
                return
            self.in_flight = False
            if run.recording:
                run.recorder.record(latency, response.status, response.body)
            if run.stopping or not response.keep_alive:
                transport.close()
                return
            run.go(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiting is not None:
            self.waiting.cancel()
            self.waiting = None
        self._run.open.discard(self)
        if not self.closed.done():
            self.closed.set_result(None)


async def _connect(target: Target, run: _Run, next_index: int) -> _LoadConnection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(
        lambda: _LoadConnection(run, next_index),
        target.host,
        target.port,
        ssl=target.ssl,
        server_hostname=target.server_hostname,
    )
    return protocol


async def _keep_connected(target: Target, run: _Run, connection: _LoadConnection) -> None:
    """Wait for the connection to close; reopen it (counting an error) while the run lasts."""
    while True:
        await connection.closed
        if run.stopping:
            return
        if connection.in_flight and run.recording:
            run.recorder.error("connection", "connection lost with a request in flight")
        try:
            connection = await _connect(target, run, connection.next_index)
        except OSError as exc:
            if run.recording:
                run.recorder.error("connection", f"reconnect failed: {exc!r}")
            await asyncio.sleep(0.05)
            continue
        run.go(connection)


async def run_load(
    target: Target,
    requests: RequestSource,
    *,
    concurrency: int = 64,
    duration: float = 10.0,
    warmup: float = 2.0,
    ok_statuses: Collection[int] = (200,),
    refresh_every: float = 60.0,
    watch_pids: Mapping[str, int] | None = None,
    stamp: Stamp | None = None,
    rate: float | None = None,
) -> RunStats:
    """Drive ``concurrency`` keep-alive connections, cycling through ``requests``.

    Connection ``i`` starts at request ``i * len(requests) // concurrency``. A callable
    ``requests`` is called now and every ``refresh_every`` seconds (re-signing). Only
    responses that complete inside the measured window (after ``warmup``) are counted.
    ``watch_pids`` ({"server": pid}) adds those processes' CPU use in the window (Linux).
    ``stamp`` rewrites each request just before it is written (e.g. to embed the send
    time; keep the length unchanged). ``rate`` paces the run: at most ``rate`` requests a
    second in total, each connection still waiting for its answer before its next send
    (a connection whose slot has passed sends at once, so the rate holds only while
    ``concurrency`` ÷ latency exceeds it).
    """
    watch_pids = watch_pids or {}
    if concurrency < 1 or duration <= 0 or warmup < 0:
        raise ValueError("need concurrency >= 1, duration > 0, warmup >= 0")
    if rate is not None and rate <= 0:
        raise ValueError("rate must be positive")
    factory = requests if callable(requests) else None
    initial = factory() if factory is not None else requests
    assert not callable(initial)
    if not initial:
        raise ValueError("no requests to send")
    recorder = Recorder(ok_statuses, capacity=max(1 << 16, int(duration * 20_000)))
    run = _Run(initial, recorder, stamp, rate)
    run.next_slot = asyncio.get_running_loop().time()
    opened = await asyncio.gather(
        *(_connect(target, run, i * len(initial) // concurrency) for i in range(concurrency)),
        return_exceptions=True,
    )
    connections = [c for c in opened if isinstance(c, _LoadConnection)]
    if len(connections) < concurrency:
        run.abort_all()
        failure = next(c for c in opened if isinstance(c, BaseException))
        raise ConnectionError(f"could not open {concurrency} connections: {failure!r}")

    async def refresh() -> None:
        assert factory is not None
        while True:
            await asyncio.sleep(refresh_every)
            run.requests = factory()

    async with asyncio.TaskGroup() as tasks:
        keepers = [tasks.create_task(_keep_connected(target, run, c)) for c in connections]
        refresher = tasks.create_task(refresh()) if factory is not None else None
        for connection in connections:
            run.go(connection)
        await asyncio.sleep(warmup)
        cpu_before = {name: _process_cpu_seconds(pid) for name, pid in watch_pids.items()}
        own_before = time.process_time()
        run.recording = True
        started = time.perf_counter()
        await asyncio.sleep(duration)
        run.recording = False
        elapsed = time.perf_counter() - started
        own_cpu = time.process_time() - own_before
        cpu_after = {name: _process_cpu_seconds(pid) for name, pid in watch_pids.items()}
        run.stopping = True
        if refresher is not None:
            refresher.cancel()
        _, stuck = await asyncio.wait(keepers, timeout=10.0)
        run.abort_all()
        for keeper in stuck:
            keeper.cancel()

    cpu = {"loadgen": 100.0 * own_cpu / elapsed}
    for name, before in cpu_before.items():
        after = cpu_after[name]
        if before is not None and after is not None:
            cpu[name] = 100.0 * (after - before) / elapsed
    latencies = sorted(recorder.latencies[: recorder.count])
    return RunStats(
        concurrency=concurrency,
        warmup=warmup,
        elapsed=elapsed,
        requests=recorder.count,
        ok=recorder.ok,
        errors=recorder.errors,
        first_error=recorder.first_error,
        latencies=latencies,
        cpu_percent=cpu,
        window_start=started,
    )


# ── one-off requests (setup, not timed) ───────────────────────────────────────────────


class SimpleClient:
    """A sequential keep-alive connection for setup calls (create users, threads, …)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._parser = ResponseParser()
        self._ready: list[Response] = []

    @classmethod
    async def connect(cls, target: Target) -> SimpleClient:
        reader, writer = await asyncio.open_connection(
            target.host, target.port, ssl=target.ssl, server_hostname=target.server_hostname
        )
        return cls(reader, writer)

    async def request(self, raw: bytes) -> Response:
        self._writer.write(raw)
        await self._writer.drain()
        while not self._ready:
            data = await self._reader.read(65536)
            if not data:
                raise ProtocolError("connection closed before the response was complete")
            self._ready.extend(self._parser.feed(data))
        return self._ready.pop(0)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await self._writer.wait_closed()


# ── the shared command line: connection string or --spawn, run, report ───────────────


@dataclass(frozen=True, slots=True)
class SpawnedServer:
    connection_string: str
    ca: str
    pid: int


def split_cpus() -> tuple[int | None, int | None]:
    """(server CPU, load-generator CPU) when at least two CPUs are usable, else (None, None)."""
    cpus = sorted(os.sched_getaffinity(0))
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)


@contextlib.contextmanager
def spawn_server(
    cpu: int | None,
    *,
    startup_timeout: float = 60.0,
    module: Sequence[str] = ("switchboard", "serve", "--port", "0"),
) -> Iterator[SpawnedServer]:
    """Run ``python -m switchboard serve --port 0`` (or another ``module`` command line that
    takes ``--data-dir`` and announces itself the same way) in a temporary data dir, pinned
    to ``cpu``."""
    with tempfile.TemporaryDirectory(prefix="sbbench-") as scratch:
        out_path, err_path = Path(scratch, "server.out"), Path(scratch, "server.err")
        command = [sys.executable, "-m", *module]
        command += ["--data-dir", str(Path(scratch, "data"))]
        taskset = shutil.which("taskset")
        if cpu is not None and taskset:
            command = [taskset, "-c", str(cpu), *command]  # taskset execs: same pid
        with out_path.open("wb") as out, err_path.open("wb") as err:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            if cpu is not None and not taskset:
                os.sched_setaffinity(process.pid, {cpu})
            connection_string, ca = _await_announcement(process, out_path, startup_timeout)
            yield SpawnedServer(connection_string, ca, process.pid)
        except Exception:
            tail = err_path.read_text(errors="replace")[-3000:]
            print(f"server stderr (tail):\n{tail}", file=sys.stderr)
            raise
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _await_announcement(
    process: subprocess.Popen[bytes], out_path: Path, timeout: float
) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found: dict[str, str] = {}
        for line in out_path.read_text(errors="replace").splitlines():
            for label in ("Connection string: ", "CA certificate: "):
                if line.startswith(label):
                    found[label] = line[len(label) :].strip()
        if len(found) == 2:
            return found["Connection string: "], found["CA certificate: "]
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode} before starting")
        time.sleep(0.05)
    raise RuntimeError(f"server did not announce itself within {timeout:g} s")


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--connection-string",
        default=os.environ.get("SWITCHBOARD_CONNECTION_STRING"),
        help="endpoint=https://host:port/;accesskey=KEY (env SWITCHBOARD_CONNECTION_STRING)",
    )
    parser.add_argument(
        "--ca",
        default=os.environ.get("SWITCHBOARD_CA"),
        help="CA certificate to trust (env SWITCHBOARD_CA)",
    )
    parser.add_argument(
        "--spawn",
        action="store_true",
        help="start a server (temp data dir, pinned to one CPU) and pin this process to another",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--concurrency", type=int, default=64, help="keep-alive connections")
    parser.add_argument("--cpu", type=int, help="pin the load generator to this CPU")
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    parser.add_argument(
        "--no-ceiling",
        action="store_true",
        help="with --spawn: skip the trivial-endpoint ceiling run after the figure",
    )


Prepare = Callable[[Endpoint, Target], Awaitable[RequestSource]]
MAX_ERROR_RATE = 0.001


def run_benchmark(
    args: argparse.Namespace,
    argv: Sequence[str],
    *,
    name: str,
    prog: str,
    prepare: Prepare,
    ok_label: str = "ok",
    ok_statuses: Collection[int] = (200,),
) -> int:
    """Resolve the server (``--spawn`` or connection string), run, report; the exit code."""
    if args.concurrency < 1 or args.duration <= 0 or args.warmup < 0:
        print("need --concurrency >= 1, --duration > 0, --warmup >= 0", file=sys.stderr)
        return 2
    command = _redact(" ".join([prog, *map(shlex.quote, argv)]))
    if not args.spawn and not args.connection_string:
        print("need --connection-string (or SWITCHBOARD_CONNECTION_STRING) or --spawn")
        return 2
    try:
        if args.spawn:
            server_cpu, client_cpu = split_cpus()
            with spawn_server(server_cpu) as server:
                print(f"spawned server pid {server.pid} (cpu {server_cpu})", file=sys.stderr)
                if client_cpu is not None:
                    os.sched_setaffinity(0, {client_cpu})
                stats = _run(
                    args, server.connection_string, server.ca, prepare, ok_statuses, server
                )
        else:
            if args.cpu is not None:
                os.sched_setaffinity(0, {args.cpu})
            stats = _run(args, args.connection_string, args.ca, prepare, ok_statuses, None)
    except (OSError, ValueError, RuntimeError, ProtocolError, ExceptionGroup) as exc:
        while isinstance(exc, ExceptionGroup):  # a TaskGroup in setup: show the first cause
            exc = exc.exceptions[0]
        print(f"FAILED: {exc!r}", file=sys.stderr)  # the server is down, the key is wrong, …
        return 1
    print(stats.format_table(f"benchmark {name}", ok_label=ok_label, command=command))
    ceiling = same_run_ceiling(args, stats.ok_per_second, ok_label, stats.server_cpu_us_per_request)
    if args.json:
        figures = {"benchmark": name, **stats.to_dict(ok_label), "command": command}
        if ceiling is not None:
            figures["ceiling"] = ceiling.to_dict("requests")
        print(json.dumps(figures, separators=(",", ":")))
    if stats.requests == 0 or stats.error_rate > MAX_ERROR_RATE:
        print(
            f"FAILED: {stats.error_count} errors in {stats.requests} responses "
            f"(limit {MAX_ERROR_RATE:.1%}); first error: {stats.first_error}",
            file=sys.stderr,
        )
        return 1
    return 0


def same_run_ceiling(
    args: argparse.Namespace, figure: float, unit: str, server_cpu_us: float | None
) -> RunStats | None:
    """With ``--spawn`` (the CPUs are ours to pin): the trivial endpoint on the same CPUs right
    after the run, printed with the figure's share of it (``figure`` in ``unit``/s, the
    server's CPU per response when watched); the machine's speed drifts, so a figure is only
    read beside the ceiling of the same run. ``--no-ceiling`` skips it."""
    if not args.spawn or args.no_ceiling or figure <= 0:
        return None
    # bench.ceiling builds on this module: imported when used, not at the top.
    from bench.ceiling import measure_ceiling

    ceiling = measure_ceiling(
        duration=args.duration, warmup=args.warmup, concurrency=args.concurrency
    )
    rows = [("requests/s", f"{ceiling.ok_per_second:,.1f}")]
    theirs = ceiling.server_cpu_us_per_request
    if theirs is not None:
        rows.append(("server cpu", f"{theirs:.0f} µs per response"))
    if ceiling.ok_per_second:
        rows.append((f"{unit}/s ÷ it", f"{figure / ceiling.ok_per_second:.1%}"))
    if server_cpu_us and theirs:
        rows.append(("cpu ratio", f"{theirs / server_cpu_us:.1%} (its CPU per response ÷ ours)"))
    print("ceiling of the same run (bench.ceiling: trivial GET over TLS, same CPUs)")
    for label, value in rows:
        print(f"  {label:<14} {value}")
    return ceiling


def _run(
    args: argparse.Namespace,
    connection_string: str,
    ca: str | None,
    prepare: Prepare,
    ok_statuses: Collection[int],
    server: SpawnedServer | None,
) -> RunStats:
    endpoint = parse_connection_string(connection_string)
    target = Target.for_endpoint(endpoint, ca)

    async def main() -> RunStats:
        requests = await prepare(endpoint, target)
        return await run_load(
            target,
            requests,
            concurrency=args.concurrency,
            duration=args.duration,
            warmup=args.warmup,
            ok_statuses=ok_statuses,
            watch_pids={"server": server.pid} if server else None,
        )

    return uvloop.run(main())


def _redact(text: str) -> str:
    return re.sub(r"(?i)(accesskey=)[^;'\s]+", r"\1***", text)


def command_line(prog: str, argv: Sequence[str]) -> str:
    """The command as typed, for the report, with any access key masked."""
    return _redact(" ".join([prog, *map(shlex.quote, argv)]))
