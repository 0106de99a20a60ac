"""``python -m examples.sample_app --switchboard "<connection string>" --ca <ca.pem>``.

Options may come from the environment instead: SWITCHBOARD_CONNECTION_STRING, SWITCHBOARD_CA.
``--port 0`` picks a free port; the address is printed as ``Sample app: http://…``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys

import uvicorn

from examples.sample_app.app import create_app
from examples.sample_app.settings import AppSettings

READY_PREFIX = "Sample app: "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.sample_app")
    parser.add_argument(
        "--switchboard",
        default=os.environ.get("SWITCHBOARD_CONNECTION_STRING"),
        help="connection string (switchboard connection-string prints it)",
    )
    parser.add_argument(
        "--ca", default=os.environ.get("SWITCHBOARD_CA"), help="Switchboard's CA (PEM)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    args = parser.parse_args(argv)
    if not args.switchboard:
        parser.error("give --switchboard or set SWITCHBOARD_CONNECTION_STRING")

    app = create_app(AppSettings(args.switchboard, args.ca))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)  # connections wait in the backlog until uvicorn serves
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    print(f"{READY_PREFIX}http://{host}:{port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it stops
        asyncio.run(server.serve(sockets=[sock]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
