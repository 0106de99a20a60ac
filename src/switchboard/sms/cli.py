"""``switchboard sim ...``: drive the simulator carrier's handsets from the shell.

    switchboard sim sms send --from +12065550100 --to +18005550100 "text"   a handset texts us
                                          (refused when no one bought the number it texts)
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
from switchboard.core.errors import BadRequestError, NotFoundError, SwitchboardError
from switchboard.sms.models import check_text, is_e164
from switchboard.sms.service import NumberDirectory
from switchboard.sms.simstore import HandsetBehaviour, HandsetReport
from switchboard.sms.simstore_sql import SqlSimulatorStore
from switchboard.storage.database import Database, DatabaseOpener


def add_sim_commands(
    sim: argparse.ArgumentParser,
    common_options: Callable[[argparse.ArgumentParser], None],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """The options of ``switchboard sim``; returns its kinds, to which others add (``sim
    call``). The CLI makes the command's parser."""
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


# Who owns which number (the numbers domain, handed in by the CLI): a message to a number
# nobody owns would be dropped by the node, so ``sim sms send`` refuses it up front.
Directory = Callable[[Database], NumberDirectory]


def run_sim_command(
    args: argparse.Namespace, open_database: DatabaseOpener, directory: Directory
) -> int:
    try:
        return asyncio.run(_run(args, open_database, directory, sys.stdout))
    except ValueError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    except SwitchboardError as exc:
        print(f"switchboard: {exc.message}", file=sys.stderr)
        return 1


async def _check_ours(directory: NumberDirectory, number: str) -> None:
    """What the node's SMS service checks on arrival (SmsService.inbound), asked first."""
    owned = await directory.owned_number(number)
    if owned is None:
        raise NotFoundError(
            f"{number} is not a number of ours (nobody bought it), so the node would drop the "
            "message; send to a purchased number (switchboard numbers list --purchased)"
        )
    if not owned.sms.allows_inbound:
        raise BadRequestError(
            f"{number} takes no inbound SMS (its SMS capability is {owned.sms.value}), so the "
            "node would drop the message; send to a number bought with inbound SMS"
        )


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


async def _run(
    args: argparse.Namespace, open_database: DatabaseOpener, directory: Directory, out: TextIO
) -> int:
    async with open_database() as database:
        store = SqlSimulatorStore(database)
        if args.sim_command == "handset":
            behaviour = HandsetBehaviour(
                _number(args.number), HandsetReport(args.report), int(args.delay * 1000)
            )
            await store.set_behaviour(behaviour)
            print(f"{behaviour.number}: receipts {behaviour.report.value}", file=out)
        elif args.sim_sms_command == "send":
            await _check_ours(directory(database), _number(args.to))
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
