"""Ports a test hands to a server it starts later.

A port bound to 0 and released comes from the kernel's ephemeral range (32768-60999 here),
the same range every outgoing connection draws its local port from: between the release and
the server's bind, a client connection of the other xdist worker can take it (CI saw
"address already in use" so). These ports come from below that range instead, at random
(two workers rarely draw the same one) and checked free for TCP and UDP both, so a caller
can use the number for either.
"""

from __future__ import annotations

import random
import socket

LOW, HIGH = 20000, 32000  # under ip_local_port_range: no outgoing connection takes one


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens, TCP or UDP (bound, then released)."""
    for _ in range(200):
        port = random.randint(LOW, HIGH)
        if _bindable(port, socket.SOCK_STREAM) and _bindable(port, socket.SOCK_DGRAM):
            return port
    raise RuntimeError(f"no free port in {LOW}-{HIGH} on 127.0.0.1")


def _bindable(port: int, kind: socket.SocketKind) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
