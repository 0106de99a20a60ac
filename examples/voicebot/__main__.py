"""``python -m examples.voicebot --switchboard "<connection string>" --ca <ca.pem>``

Buys a number (or uses one with inbound calling), subscribes its IncomingCall events to this
app, and serves the bot. Prints ``Voice bot: <number> http://…`` when it is ready.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import uvicorn

from examples.ivr.setup import phone_number, subscribe_incoming_calls
from examples.sample_app.settings import AppSettings
from examples.serving import run_until_interrupted, webhook_socket
from examples.voicebot.bot import create_app

READY_PREFIX = "Voice bot: "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.voicebot")
    parser.add_argument("--switchboard", default=os.environ.get("SWITCHBOARD_CONNECTION_STRING"))
    parser.add_argument("--ca", default=os.environ.get("SWITCHBOARD_CA"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8092, help="0 picks a free port")
    parser.add_argument("--area-code", default=None, help="for the number it buys")
    args = parser.parse_args(argv)
    if not args.switchboard:
        parser.error("give --switchboard or set SWITCHBOARD_CONNECTION_STRING")

    sock, public = webhook_socket(args.host, args.port)
    switchboard = AppSettings(args.switchboard, args.ca)
    app, _ = create_app(switchboard, public)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        number = await asyncio.to_thread(phone_number, switchboard, area_code=args.area_code)
        await asyncio.to_thread(
            subscribe_incoming_calls,
            switchboard,
            f"voicebot-{sock.getsockname()[1]}",
            f"{public}/events",
            number,
        )
        print(f"{READY_PREFIX}{number} {public}", flush=True)
        await task

    return run_until_interrupted(serve())


if __name__ == "__main__":
    sys.exit(main())
