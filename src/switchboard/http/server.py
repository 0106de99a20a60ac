"""Run a node under uvicorn, on a socket we bind ourselves (so ``--port 0`` works).

bind socket ─▶ build(port): the node, built and started (app.build_node, handed in by the CLI)
    ─▶ TLS (served_tls): the operator's certificate, or one from the local CA the nodes share
       (node.local_ca(): kept in the database), or none (tls = false: a proxy terminates TLS)
    ─▶ uvicorn serves node.asgi (no lifespan: the node is already up) ─▶ print connection string
SIGTERM/SIGINT ─▶ uvicorn stops accepting, drains in-flight requests ─▶ node.stop()
SIGHUP, or the certificate files changed ─▶ the operator's certificate re-read (tls_reload.py)
meanwhile (glibc): HeapTrimmer returns the C heap's free pages (sockets that came and went)

This module knows the node only as ``ServedNode``: the HTTP layer sits below the composition
root and never imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Protocol

import uvicorn
from starlette.types import ASGIApp

from switchboard.core.sections import ServerConfig
from switchboard.core.tasks import TaskScope, first_completed
from switchboard.http.heap_trim import HeapTrimmer
from switchboard.http.listen import bind_or_explain
from switchboard.http.tls import LocalCa, TlsMaterial, ensure_tls_material
from switchboard.http.tls_reload import CertificateReloader, check_certificate
from switchboard.http.uvicorn_limits import LimitedHttpToolsProtocol
from switchboard.http.uvicorn_websockets import LeanWebSocketProtocol

log = logging.getLogger(__name__)


class ServedNode(Protocol):
    """What the HTTP servers need of a node: its ASGI app, what to announce, how to stop."""

    @property
    def asgi(self) -> ASGIApp: ...

    async def connection_string(self) -> str: ...

    async def local_ca(self) -> LocalCa: ...

    async def stop(self) -> None: ...


# Builds and starts the node for the port the server listens on.
NodeFactory = Callable[[int], Awaitable[ServedNode]]


class _Server(uvicorn.Server):
    """uvicorn with two shutdown fixes.

    - uvicorn re-raises a caught SIGTERM after its graceful shutdown, so the process dies
      "by signal"; a clean stop should exit 0, so we handle the signals without re-raising.
    - Closing an idle keep-alive TLS connection waits for the peer's close_notify, which an
      idle HTTP client never sends, so every stop would wait out the whole graceful timeout
      (10 s) whenever an SDK client kept a pooled connection. Connections that are closing
      and have nothing left to write are aborted instead; requests in flight still finish.
    """

    async def _wait_tasks_to_complete(self) -> None:
        # The reaper never finishes: it runs exactly as long as the wait.
        await first_completed(super()._wait_tasks_to_complete(), self._abort_idle_connections())

    async def _abort_idle_connections(self) -> None:
        while True:
            for connection in list(self.server_state.connections):
                transport = getattr(connection, "transport", None)
                # uvloop's TLS transport is not an asyncio.Transport subclass: duck-type it.
                if (
                    transport is not None
                    and transport.is_closing()
                    and transport.get_write_buffer_size() == 0
                ):
                    transport.abort()
            await asyncio.sleep(0.05)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    bind_or_explain(sock, host, port)  # a ListenError an operator can act on
    sock.set_inheritable(True)
    return sock


def prepare_tls(settings: ServerConfig, ca: LocalCa | None = None) -> TlsMaterial:
    """A certificate of the local CA (``ca``, else the data dir's own) for every name the
    node is reached by."""
    hosts = ["localhost", "127.0.0.1", "::1"]
    for extra in (settings.public_host, settings.host, settings.recording_host):
        if extra and extra not in ("0.0.0.0", "::") and extra not in hosts:
            hosts.append(extra)
    return ensure_tls_material(settings.data_dir / "tls", hosts, ca=ca)


async def served_tls(settings: ServerConfig, node: ServedNode) -> TlsMaterial | None:
    """What the node presents: nothing (plain HTTP), the operator's files, or the local CA's."""
    if not settings.tls:
        return None
    if settings.tls_cert and settings.tls_key:
        cert = Path(settings.tls_cert)
        return TlsMaterial(ca_cert=cert, cert=cert, key=Path(settings.tls_key))
    return prepare_tls(settings, await node.local_ca())


def announce_tls(
    settings: ServerConfig, tls: TlsMaterial | None, say: Callable[[str], None]
) -> None:
    if tls is None:
        say("TLS: off (plain HTTP: the proxy in front terminates TLS)")
    elif settings.tls_cert:
        say(f"TLS certificate: {tls.cert.resolve()} (re-read on SIGHUP or when it changes)")
    else:
        say(f"CA certificate: {tls.ca_cert.resolve()}")


async def serve(
    settings: ServerConfig,
    build: NodeFactory,
    *,
    announce: Callable[[str], None] | None = None,
) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.tls and settings.tls_cert and settings.tls_key:
        check_certificate(Path(settings.tls_cert), Path(settings.tls_key))  # before anything
    trimmer = HeapTrimmer.for_this_process()
    if trimmer is None:
        return await _serve(settings, build, announce)
    trimming = TaskScope("heap trim")
    await trimming.start()
    trimming.spawn(trimmer.run(), name="heap-trim")
    try:
        return await _serve(settings, build, announce)
    finally:
        await trimming.stop()


async def _serve(
    settings: ServerConfig,
    build: NodeFactory,
    announce: Callable[[str], None] | None,
) -> int:
    if settings.http_server == "granian":
        from switchboard.http.granian_server import serve_granian

        return await serve_granian(settings, build, announce or _print)
    sock = bind_socket(settings.host, settings.port)
    port = sock.getsockname()[1]
    try:
        node = await build(port)
    except BaseException:
        sock.close()
        raise
    try:
        tls = await served_tls(settings, node)
        return await _serve_uvicorn(settings, tls, sock, node, announce or _print)
    finally:
        sock.close()
        await node.stop()


def uvicorn_config(settings: ServerConfig, app: ASGIApp, tls: TlsMaterial | None) -> uvicorn.Config:
    """How a node is served under uvicorn (also what benchmarks and tests serve with)."""
    return uvicorn.Config(
        app,
        ssl_certfile=str(tls.cert) if tls else None,
        ssl_keyfile=str(tls.key) if tls else None,
        lifespan="off",
        loop="uvloop",
        http=LimitedHttpToolsProtocol.configured(settings),  # httptools, with limits
        # The sans-I/O implementation, minus the handshake it would keep for the life of
        # the socket, and with a stop that cannot fail (http/uvicorn_websockets.py). No
        # permessage-deflate: its zlib streams cost ≈ 47 KB per socket for as long as the
        # socket is open (browsers offer it), for frames that are small JSON. No
        # protocol-level keepalive pings: every socket we serve runs a HeartbeatSession,
        # whose JSON heartbeat already closes a silent client (4008); uvicorn's would add a
        # timer per socket and a ping every 20 s.
        ws=LeanWebSocketProtocol,
        ws_per_message_deflate=False,
        ws_ping_interval=None,
        log_config=None,
        access_log=False,  # ours: http/context.py (with the request id; granian too)
        server_header=False,
        # Forwarded headers are ours alone (http/proxy.py, only from `trusted_proxies`):
        # uvicorn's own layer trusted 127.0.0.1's X-Forwarded-Proto/-For whatever the
        # config said, and cost a coroutine and a header scan on every request.
        proxy_headers=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_seconds),
        backlog=4096,
    )


async def _serve_uvicorn(
    settings: ServerConfig,
    tls: TlsMaterial | None,
    sock: socket.socket,
    node: ServedNode,
    say: Callable[[str], None],
) -> int:
    port = sock.getsockname()[1]
    config = uvicorn_config(settings, node.asgi, tls)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    # uvicorn exposes no "started" event; poll its flag until it serves or gives up.
    while not server.started and not task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    if not server.started:
        await task
        return 1
    (settings.data_dir / "endpoint").write_text(settings.endpoint(port))
    say(f"Connection string: {await node.connection_string()}")
    announce_tls(settings, tls, say)
    if tls is None or not settings.tls_cert or server.config.ssl is None:
        await task
        return 0
    reloader = CertificateReloader(tls.cert, tls.key, [server.config.ssl])
    watching = TaskScope("certificate reload")
    await watching.start()
    watching.spawn(reloader.watch(settings.tls_reload_seconds), name="certificate-reload")
    try:
        await task
    finally:
        await watching.stop()
    return 0


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
