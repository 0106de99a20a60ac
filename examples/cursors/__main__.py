"""``python -m examples.cursors --switchboard "<connection string>" --ca <ca.pem>``.

Options may come from the environment instead: SWITCHBOARD_CONNECTION_STRING, SWITCHBOARD_CA.
``--port 0`` picks a free port; the address is printed as ``Cursors: http://…``.
"""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from examples.cursors.app import create_app
from examples.serving import run_until_interrupted, webhook_socket

READY_PREFIX = "Cursors: "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.cursors")
    parser.add_argument("--switchboard", default=os.environ.get("SWITCHBOARD_CONNECTION_STRING"))
    parser.add_argument("--ca", default=os.environ.get("SWITCHBOARD_CA"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090, help="0 picks a free port")
    args = parser.parse_args(argv)
    if not args.switchboard:
        parser.error("give --switchboard or set SWITCHBOARD_CONNECTION_STRING")
    app = create_app(args.switchboard, args.ca)
    sock, url = webhook_socket(args.host, args.port)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    print(f"{READY_PREFIX}{url}", flush=True)
    return run_until_interrupted(server.serve(sockets=[sock]))


if __name__ == "__main__":
    sys.exit(main())
