"""``python -m examples.chatbot --switchboard "<connection string>" --ca <ca.pem>
--sample-app http://127.0.0.1:8080``

Signs in to the sample app as the bot (``--name``, default "Bot"), subscribes the messages sent
to it, and serves its webhook. Prints ``Chat bot: <name> <user id> http://…`` when ready; then
add the bot as a friend in the sample app and write to it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import uvicorn

from examples.chatbot.bot import ChatBot, create_app
from examples.chatbot.setup import sign_in, subscribe_messages
from examples.sample_app.settings import AppSettings
from examples.serving import run_until_interrupted, webhook_socket

READY_PREFIX = "Chat bot: "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.chatbot")
    parser.add_argument("--switchboard", default=os.environ.get("SWITCHBOARD_CONNECTION_STRING"))
    parser.add_argument("--ca", default=os.environ.get("SWITCHBOARD_CA"))
    parser.add_argument("--sample-app", default="http://127.0.0.1:8080")
    parser.add_argument("--name", default="Bot", help="its name in the sample app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091, help="0 picks a free port")
    args = parser.parse_args(argv)
    if not args.switchboard:
        parser.error("give --switchboard or set SWITCHBOARD_CONNECTION_STRING")

    sock, public = webhook_socket(args.host, args.port)
    settings = AppSettings(args.switchboard, args.ca)

    async def serve() -> None:
        user_id, tokens = await sign_in(args.sample_app, args.name)
        bot = ChatBot(settings, user_id, args.name, tokens)
        server = uvicorn.Server(uvicorn.Config(create_app(bot), log_level="warning"))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        await asyncio.to_thread(
            subscribe_messages,
            settings,
            f"chatbot-{sock.getsockname()[1]}",
            f"{public}/events",
            user_id,
        )
        print(f"{READY_PREFIX}{args.name} {user_id} {public}", flush=True)
        await task

    return run_until_interrupted(serve())


if __name__ == "__main__":
    sys.exit(main())
