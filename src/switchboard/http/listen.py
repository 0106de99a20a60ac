"""Why the node cannot listen where it was told to, as one line an operator can act on.

``check_host`` runs before anything is written for the host (the TLS certificate lists it);
``listen_error`` turns the ``OSError`` of a failed ``bind`` into a ``ListenError``. Both HTTP
servers (http/server.py, http/granian_server.py) bind through ``bind_or_explain``.
"""

from __future__ import annotations

import errno
import socket

from switchboard.core.errors import ListenError

_CHOOSE_HOST = "use 127.0.0.1, 0.0.0.0 (every interface) or an address of this machine"


def check_host(host: str) -> None:
    """Refuse a ``--host`` that is neither an address nor a name that resolves."""
    try:
        socket.getaddrinfo(host.strip("[]"), None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ListenError(
            f"cannot listen on host '{host}': it does not resolve; {_CHOOSE_HOST}"
        ) from None


def bind_or_explain(sock: socket.socket, host: str, port: int) -> None:
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise listen_error(host, port, exc) from None


def listen_error(host: str, port: int, error: OSError) -> ListenError:
    where = f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return ListenError(
            f"cannot listen on {where}: the port is in use (another switchboard?); stop that "
            "process or choose another --port (0 picks a free one)"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return ListenError(
            f"cannot listen on {where}: not an address of this machine; {_CHOOSE_HOST}"
        )
    if error.errno == errno.EACCES:
        return ListenError(
            f"cannot listen on {where}: ports below 1024 need privileges; choose --port 1024 "
            "or above (the default is 8443)"
        )
    if isinstance(error, socket.gaierror):
        return ListenError(f"cannot listen on host '{host}': it does not resolve; {_CHOOSE_HOST}")
    return ListenError(f"cannot listen on {where}: {error.strerror or error}")
