"""CPU per token issuance in one process, beside the trivial endpoint, measured in turns.

No TLS and no sockets: request bytes go straight into the HTTP protocol the node is served
with (``uvicorn_config``: httptools with our limits), whose ASGI app is either the node's
(``POST /identities/{id}/:issueAccessToken``, HMAC-signed, SQLite in a temporary dir) or
``bench/ceiling.py``'s trivial Starlette app (``GET /ping``), one request at a time:

    request bytes ─▶ protocol.data_received ─▶ uvicorn cycle + ASGI app ─▶ transport.write
    rounds: n trivial requests, then n token requests, … (process CPU time of each kind)

The two kinds alternate in short rounds, so a shared machine's drift (other jobs, clock
speed) falls on both alike: the ratio is steadier than either figure, and what is left of
a token beyond the trivial request is the node's own work (HMAC, routing, identity, ES256
signature, JSON) plus the POST body and the bigger response. ``--profile`` prints where
the token requests' time went (cProfile, after the measured rounds).

    python -m bench.token_cpu [--rounds 20] [--per-round 500] [--profile] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import uvicorn
import uvloop
from starlette.types import ASGIApp
from uvicorn.server import ServerState

from bench.ceiling import build_app
from bench.identity import API_VERSION, TOKEN_BODY
from bench.loadgen import build_request, parse_connection_string

PROG = "python -m bench.token_cpu"


class _Transport:
    """Just enough of an asyncio transport for uvicorn's HTTP protocol: collects what is
    written and resolves ``done`` when a whole response (head + Content-Length) arrived."""

    def __init__(self) -> None:
        self.done: asyncio.Future[int] | None = None
        self._buffer = b""
        self._needed = -1
        self._status = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        info = {"sockname": ("127.0.0.1", 8443), "peername": ("127.0.0.1", 40000)}
        return info.get(name, default)

    def write(self, data: bytes) -> None:
        self._buffer += data
        if self._needed < 0:
            head, sep, _ = self._buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            self._status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            self._needed = len(head) + 4 + length
        if len(self._buffer) >= self._needed and self.done is not None:
            self._buffer, self._needed = self._buffer[self._needed :], -1
            self.done.set_result(self._status)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        return None

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None

    def get_write_buffer_size(self) -> int:
        return 0


class _Connection:
    """One keep-alive connection of the served protocol over a ``_Transport``."""

    def __init__(self, config: uvicorn.Config) -> None:
        config.load()
        self._loop = asyncio.get_running_loop()
        protocol_class: Any = config.http_protocol_class
        self._protocol = protocol_class(
            config=config, server_state=ServerState(), app_state={}, _loop=self._loop
        )
        self._transport = _Transport()
        self._protocol.connection_made(self._transport)

    async def request(self, raw: bytes) -> int:
        self._transport.done = self._loop.create_future()
        self._protocol.data_received(raw)
        return await self._transport.done


async def _token_connection(data_dir: Path, users: int) -> tuple[_Connection, list[bytes], Any]:
    from switchboard.app import build_node
    from switchboard.core.config import load_settings, node_config
    from switchboard.http.server import uvicorn_config

    settings = load_settings({"data_dir": data_dir, "host": "127.0.0.1", "tls": False}, environ={})
    config = node_config(settings)
    node = await build_node(config, port=8443)
    endpoint = parse_connection_string(await node.connection_string())
    requests = []
    for _ in range(users):
        identity, _token = await node.identity.create_identity()
        path = f"/identities/{quote(identity.id, safe='')}/:issueAccessToken"
        requests.append(
            build_request(
                "POST",
                f"{path}?api-version={API_VERSION}",
                endpoint.authority,
                key=endpoint.access_key,
                body=TOKEN_BODY,
            )
        )
    return _Connection(uvicorn_config(config.server, node.asgi, None)), requests, node


def _trivial_connection() -> tuple[_Connection, list[bytes]]:
    from switchboard.core.sections import ServerConfig
    from switchboard.http.server import uvicorn_config

    app: ASGIApp = build_app("starlette")
    request = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n\r\n"
    return _Connection(uvicorn_config(ServerConfig(), app, None)), [request]


async def _timed(connection: _Connection, requests: Sequence[bytes], start: int, n: int) -> float:
    begin = time.process_time()
    for i in range(start, start + n):
        status = await connection.request(requests[i % len(requests)])
        if status != 200:
            raise RuntimeError(f"HTTP {status}")
    return time.process_time() - begin


async def measure(rounds: int, per_round: int, users: int, profile: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sbtokencpu-") as scratch:
        tokens, token_requests, node = await _token_connection(Path(scratch), users)
        trivial, trivial_requests = _trivial_connection()
        try:
            await _timed(tokens, token_requests, 0, max(per_round, users))  # warm-up
            await _timed(trivial, trivial_requests, 0, per_round)
            cpu = {"token": 0.0, "trivial": 0.0}
            for r in range(rounds):
                cpu["trivial"] += await _timed(trivial, trivial_requests, 0, per_round)
                cpu["token"] += await _timed(tokens, token_requests, r * per_round, per_round)
            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
                await _timed(tokens, token_requests, 0, rounds * per_round // 4)
                profiler.disable()
                stats = pstats.Stats(profiler, stream=sys.stderr)
                stats.sort_stats("tottime").print_stats(25)
        finally:
            await node.stop()
    count = rounds * per_round
    token_us = cpu["token"] / count * 1e6
    trivial_us = cpu["trivial"] / count * 1e6
    return {
        "benchmark": "token_cpu",
        "requests_each": count,
        "token_us": round(token_us, 1),
        "trivial_us": round(trivial_us, 1),
        "ratio": round(trivial_us / token_us, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=500)
    parser.add_argument("--users", type=int, default=100, help="identities to cycle through")
    parser.add_argument("--profile", action="store_true", help="cProfile table on stderr")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if min(args.rounds, args.per_round, args.users) < 1:
        print("--rounds, --per-round and --users must be >= 1", file=sys.stderr)
        return 2
    result = uvloop.run(measure(args.rounds, args.per_round, args.users, args.profile))
    print(f"benchmark token issuance CPU in process (no TLS), {result['requests_each']} each")
    print(f"  token        {result['token_us']:8.1f} µs CPU per issuance")
    print(f"  trivial      {result['trivial_us']:8.1f} µs CPU per GET /ping (same turns)")
    print(f"  ratio        {result['ratio']:8.3f}  trivial ÷ token (tokens/s as a share of the")
    print("               trivial endpoint's requests/s, TLS and sockets left out)")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
