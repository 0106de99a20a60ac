"""Run a node under granian (Rust HTTP and TLS) embedded in our event loop — opt-in with
``http_server = "granian"``; uvicorn stays the default.

TLS handshakes and encryption happen in granian's Rust threads instead of the Python event
loop, which is what bounds uvicorn here: granian is the server for the token-issuance figure
(≥ 8,000 tokens/s on one core; bench/README.md has the figures).

    reserve a port (SO_REUSEPORT) ─▶ build(port): the node, started ─▶ granian binds the port
        too (ASGI without lifespan) ─▶ first accepted connection ─▶ release the reservation
        ─▶ print connection string
    SIGTERM/SIGINT ─▶ granian stops accepting, drains its worker ─▶ node.stop()

Granian binds its listener itself (with SO_REUSEPORT on Linux), so ``--port 0`` is done by
reserving a free port with a bound, non-listening SO_REUSEPORT socket first: no one else can
take the port, and granian can still bind it. The embedded mode is marked experimental
upstream; docs/decisions.md says why we accept that as an option.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable

from switchboard.core.sections import ServerConfig
from switchboard.http.granian_limits import GranianLimits
from switchboard.http.listen import bind_or_explain
from switchboard.http.server import NodeFactory, ServedNode, announce_tls, served_tls
from switchboard.http.tls import TlsMaterial

log = logging.getLogger(__name__)


def reserve_port(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    reservation = socket.socket(family, socket.SOCK_STREAM)
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    bind_or_explain(reservation, host, port)  # a ListenError an operator can act on
    return reservation


async def serve_granian(
    settings: ServerConfig,
    build: NodeFactory,
    announce: Callable[[str], None],
) -> int:
    reservation = reserve_port(settings.host, settings.port)
    port = reservation.getsockname()[1]
    try:
        node = await build(port)
    except BaseException:
        reservation.close()
        raise
    try:
        tls = await served_tls(settings, node)
        if settings.tls_cert:  # granian's TLS lives in Rust: no live reload there
            log.warning("granian does not re-read --tls-cert while it runs: restart to renew")
        return await _serve(settings, tls, reservation, node, announce)
    finally:
        reservation.close()
        await node.stop()


async def _serve(
    settings: ServerConfig,
    tls: TlsMaterial | None,
    reservation: socket.socket,
    node: ServedNode,
    announce: Callable[[str], None],
) -> int:
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.server.embed import Server

    port = reservation.getsockname()[1]
    server = Server(  # embedded mode drains its one worker on stop
        GranianLimits(node.asgi, settings),
        address=settings.host.strip("[]"),
        port=port,
        interface=Interfaces.ASGINL,  # no lifespan: the node is already started
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(
            # hyper's read buffer: a head that does not fit gets 431 (hyper's floor is 8 KiB)
            max_buffer_size=max(8192, settings.max_header_bytes),
            header_read_timeout=int(settings.header_timeout_seconds * 1000),
        ),
        websockets=True,
        ssl_cert=tls.cert if tls else None,
        ssl_key=tls.key if tls else None,
        log_enabled=False,
        backlog=4096,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.stop)
    task = asyncio.create_task(server.serve())
    started = await _wait_until_listening(settings.host.strip("[]"), port, task)
    reservation.close()
    if started:
        (settings.data_dir / "endpoint").write_text(settings.endpoint(port))
        announce(f"Connection string: {await node.connection_string()}")
        announce_tls(settings, tls, announce)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return 0 if started else 1


async def _wait_until_listening(host: str, port: int, task: asyncio.Task[None]) -> bool:
    """Granian has no "started" hook in embedded mode: connect until it answers."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while not task.done() and loop.time() < deadline:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False
