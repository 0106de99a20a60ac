"""A node served over TLS inside the test process, for tests that need its objects (the media
node's local legs) as well as real clients: uvicorn on a free port, SQLite in a temp dir, no
TURN (clients connect over host candidates)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from switchboard.app import Node, build_node
from switchboard.core.config import load_settings, node_config
from switchboard.http.server import bind_socket, prepare_tls
from tests.integration.calling_clients import closed_port


@dataclass(frozen=True)
class InProcessNode:
    node: Node
    connection_string: str
    ca_path: str

    @property
    def endpoint(self) -> str:
        return self.connection_string.split(";")[0].removeprefix("endpoint=").rstrip("/")


@contextlib.asynccontextmanager
async def serving(
    data_dir: Path, overrides: Mapping[str, Any] | None = None
) -> AsyncIterator[InProcessNode]:
    settings = load_settings(
        {
            "data_dir": data_dir,
            "turn_port": closed_port(),
            "host": "127.0.0.1",
            **(overrides or {}),
        },
        environ={},
    )
    config = node_config(settings)
    tls = prepare_tls(config.server)
    sock = bind_socket("127.0.0.1", 0)
    node = await build_node(config, port=sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            node.asgi,
            ssl_certfile=str(tls.cert),
            ssl_keyfile=str(tls.key),
            lifespan="off",
            ws="websockets-sansio",
            log_config=None,
            timeout_graceful_shutdown=1,
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise RuntimeError("uvicorn stopped before it served")
            await asyncio.sleep(0.02)
        yield InProcessNode(node, await node.connection_string(), str(tls.ca_cert.resolve()))
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        sock.close()
        await node.stop()
