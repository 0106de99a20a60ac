"""What each sample's ``__main__`` needs to serve its webhooks: a listening socket bound
before the app subscribes (Switchboard's validation handshake may come at once), and a run
that Ctrl-C ends quietly."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Coroutine
from typing import Any


def webhook_socket(host: str, port: int) -> tuple[socket.socket, str]:
    """A listening socket (``port`` 0: a free one) and the app's public URL on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # the validation handshake waits in the backlog until uvicorn serves
    bound_host, bound_port = sock.getsockname()[:2]
    return sock, f"http://{bound_host}:{bound_port}"


def run_until_interrupted(main: Coroutine[Any, Any, None]) -> int:
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a sample stops
        asyncio.run(main)
    return 0
