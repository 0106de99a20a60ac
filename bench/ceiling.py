"""Ceiling: a trivial endpoint over TLS, served the way Switchboard serves, same load generator.

A benchmark figure means little without the ceiling measured in the same conditions: this is
the most one server process can answer on this machine, with the same TLS, HTTP server and
event loop, when the handler does nothing. ``bench/identity.py``'s tokens/s divided by this
is the share of the core left for Switchboard's own work.

    python -m bench.ceiling --server uvicorn   # spawns `python -m bench.ceiling serve`, pinned
    python -m bench.ceiling --server granian --app asgi
    python -m bench.ceiling --server granian --post   # POST with a small body, read by the app

``--app starlette`` (default) answers ``GET /ping`` through a Starlette ``Router`` and a
``Response``; ``--app asgi`` is a bare ASGI callable (the server's own cost alone).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import uvloop
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.loadgen import (
    RunStats,
    Target,
    parse_connection_string,
    run_load,
    spawn_server,
    split_cpus,
)

PROG = "python -m bench.ceiling"
_BODY = b'{"status":"ok"}'
_POST_BODY = b'{"scopes": ["chat", "voip"]}'
_DUMMY_KEY = base64.b64encode(b"\0" * 32).decode()


def build_app(kind: str) -> ASGIApp:
    if kind == "asgi":

        async def bare(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                return
            if scope["method"] == "POST":
                await receive()
            headers = [(b"content-type", b"application/json"), (b"content-length", b"15")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": _BODY})

        return bare
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route, Router, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def ping(request: Request) -> Response:
        if request.method == "POST":
            await request.body()
        return Response(_BODY, media_type="application/json")

    async def idle_socket(websocket: WebSocket) -> None:
        # The least a held WebSocket can cost (bench/idle_sockets.py --ceiling): accepted,
        # told it is live, then only read until the client leaves.
        await websocket.accept()
        await websocket.send_text('{"type":"live"}')
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass

    return Router(
        routes=[
            Route("/ping", ping, methods=["GET", "POST"]),
            WebSocketRoute("/chat/realtime", idle_socket),
        ]
    )


async def serve(server: str, app_kind: str, data_dir: Path) -> None:
    from switchboard.http.tls import ensure_tls_material

    tls = ensure_tls_material(data_dir / "tls", ["localhost", "127.0.0.1"])
    app = build_app(app_kind)
    if server == "granian":
        from granian.constants import HTTPModes, Interfaces
        from granian.server.embed import Server

        from switchboard.http.granian_server import _wait_until_listening, reserve_port

        reservation = reserve_port("127.0.0.1", 0)
        port = reservation.getsockname()[1]
        granian = Server(
            app,
            address="127.0.0.1",
            port=port,
            interface=Interfaces.ASGI,
            http=HTTPModes.http1,
            ssl_cert=tls.cert,
            ssl_key=tls.key,
            log_enabled=False,
            backlog=4096,
        )
        task = asyncio.create_task(granian.serve())
        await _wait_until_listening("127.0.0.1", port, task)
        reservation.close()
        _announce(port, tls.ca_cert)
        await task
        return
    import uvicorn

    from switchboard.http.server import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        ssl_certfile=str(tls.cert),
        ssl_keyfile=str(tls.key),
        lifespan="off",
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",  # as switchboard serves WebSockets (http/server.py)
        ws_per_message_deflate=False,
        log_config=None,
        access_log=False,
        server_header=False,
        backlog=4096,
    )
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    while not uv.started and not task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    _announce(port, tls.ca_cert)
    await task


def _announce(port: int, ca: Path) -> None:
    print(f"Connection string: endpoint=https://127.0.0.1:{port}/;accesskey={_DUMMY_KEY}")
    print(f"CA certificate: {ca.resolve()}", flush=True)


def measure_ceiling(
    *,
    server: str = "uvicorn",
    app: str = "starlette",
    post: bool = False,
    duration: float = 10.0,
    warmup: float = 2.0,
    concurrency: int = 64,
) -> RunStats:
    """Spawn the trivial server pinned to the first CPU, load it from the second: its stats.

    Also called by every ``run_benchmark`` with ``--spawn`` after its own run, so that each
    figure is printed beside the ceiling of the same run (bench/loadgen.py)."""
    server_cpu, client_cpu = split_cpus()
    module = ("bench.ceiling", "serve", "--server", server, "--app", app)
    with spawn_server(server_cpu, module=module) as spawned:
        if client_cpu is not None:
            os.sched_setaffinity(0, {client_cpu})
        endpoint = parse_connection_string(spawned.connection_string)
        target = Target.for_endpoint(endpoint, spawned.ca)
        head = f"/ping HTTP/1.1\r\nHost: {endpoint.authority}\r\n"
        request = (
            f"POST {head}Content-Type: application/json\r\n"
            f"Content-Length: {len(_POST_BODY)}\r\n\r\n".encode()
            + _POST_BODY
            if post
            else f"GET {head}\r\n".encode()
        )
        return uvloop.run(
            run_load(
                target,
                [request],
                concurrency=concurrency,
                duration=duration,
                warmup=warmup,
                watch_pids={"server": spawned.pid},
            )
        )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("mode", nargs="?", choices=["serve"], help=argparse.SUPPRESS)
    parser.add_argument("--server", choices=["uvicorn", "granian"], default="uvicorn")
    parser.add_argument("--app", choices=["starlette", "asgi"], default="starlette")
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--post", action="store_true", help="POST a small JSON body the handler reads"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.mode == "serve":
        uvloop.run(serve(args.server, args.app, args.data_dir))
        return 0
    stats = measure_ceiling(
        server=args.server,
        app=args.app,
        post=args.post,
        duration=args.duration,
        warmup=args.warmup,
        concurrency=args.concurrency,
    )
    verb = "POST (28-byte body read)" if args.post else "GET"
    title = f"ceiling {args.server} + {args.app}, trivial {verb} over TLS"
    print(stats.format_table(title, ok_label="requests", command=f"{PROG} {' '.join(argv)}"))
    if args.json:
        print(json.dumps({"benchmark": title, **stats.to_dict("requests")}))
    return 0 if stats.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
