"""``switchboard sim ...``: drive the simulator carrier's handsets from the shell.

    switchboard sim sms send --from +12065550100 --to +18005550100 "text"   a handset texts us
    switchboard sim sms inbox [--to +12065550100] [--count N]              what handsets got
    switchboard sim handset +12065550100 --report failed [--delay 5]       receipts it sends

Like ``switchboard events``, these work on the database directly (``--data-dir`` or
``--database-url``): no running server, no access key. A running node's simulator picks an
injected message up within half a second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import TextIO

from switchboard.core.clock import iso8601
from switchboard.core.errors import BadRequestError
from switchboard.sms.models import check_text, is_e164
from switchboard.sms.simstore import HandsetBehaviour, HandsetReport
from switchboard.sms.simstore_sql import SqlSimulatorStore
from switchboard.storage.database import DatabaseOpener


def add_sim_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common_options: Callable[[argparse.ArgumentParser], None],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """The ``sim`` command; returns its kinds, to which others add (``sim call``)."""
    sim = commands.add_parser("sim", help="the simulator carrier's virtual handsets")
    kinds = sim.add_subparsers(dest="sim_command", required=True)
    sms = kinds.add_parser("sms", help="simulated text messages")
    actions = sms.add_subparsers(dest="sim_sms_command", required=True)

    send = actions.add_parser("send", help="a handset sends a message to one of our numbers")
    common_options(send)
    send.add_argument("--from", dest="sender", required=True, help="the handset (E.164)")
    send.add_argument("--to", required=True, help="our number (E.164)")
    send.add_argument("text")

    inbox = actions.add_parser("inbox", help="messages handsets received, oldest first")
    common_options(inbox)
    inbox.add_argument("--to", help="only this handset's")
    inbox.add_argument("--count", type=int, default=20, help="the newest N (default 20)")

    handset = kinds.add_parser("handset", help="how a handset answers messages sent to it")
    common_options(handset)
    handset.add_argument("number", help="the handset (E.164)")
    handset.add_argument("--report", choices=[r.value for r in HandsetReport], default="delivered")
    handset.add_argument("--delay", type=float, default=0.0, help="seconds before the receipt")
    return kinds


def run_sim_command(args: argparse.Namespace, open_database: DatabaseOpener) -> int:
    try:
        return asyncio.run(_run(args, open_database, sys.stdout))
    except ValueError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2


def _text(value: str) -> str:
    try:
        check_text(value)
    except BadRequestError as exc:
        raise ValueError(exc.message) from None
    return value


def _number(value: str) -> str:
    if not is_e164(value):
        raise ValueError(f"'{value}' is not an E.164 phone number (like +14255550123)")
    return value


async def _run(args: argparse.Namespace, open_database: DatabaseOpener, out: TextIO) -> int:
    async with open_database() as database:
        store = SqlSimulatorStore(database)
        if args.sim_command == "handset":
            behaviour = HandsetBehaviour(
                _number(args.number), HandsetReport(args.report), int(args.delay * 1000)
            )
            await store.set_behaviour(behaviour)
            print(f"{behaviour.number}: receipts {behaviour.report.value}", file=out)
        elif args.sim_sms_command == "send":
            carrier_id = await store.inject_inbound(
                _number(args.sender), _number(args.to), _text(args.text), int(time.time() * 1000)
            )
            print(f"queued for delivery to {args.to} ({carrier_id})", file=out)
        else:
            to = _number(args.to) if args.to else None
            for message in await store.inbox(to, args.count):
                line = {
                    "from": message.sender,
                    "to": message.recipient,
                    "message": message.text,
                    "segments": message.segments,
                    "receivedAt": iso8601(message.received_ms / 1000),
                }
                print(json.dumps(line, ensure_ascii=False), file=out)
    return 0
