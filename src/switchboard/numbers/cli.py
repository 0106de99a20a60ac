"""``switchboard numbers ...`` and ``switchboard carriers ...``: the inventory, from the shell.

Like ``events``, these work on the database directly (``--data-dir`` or ``--database-url``),
so they need no running server; a running node sees the change at its next request. The
first use of a fresh database loads the demo inventory, exactly as a first server start
would, so removing it from the shell is final.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

from switchboard.core.clock import SystemClock
from switchboard.core.errors import SwitchboardError
from switchboard.numbers.inventory import parse_carrier, read_inventory_file
from switchboard.numbers.models import (
    CarrierDefinition,
    CarrierKind,
    InventoryNumber,
    NumberState,
)
from switchboard.numbers.service import NumbersService
from switchboard.numbers.sql_stores import sql_numbers_service
from switchboard.storage.database import Database, DatabaseOpener

_PAGE = 500
_STATES = {"available": NumberState.AVAILABLE, "held": NumberState.HELD}
_STATES["purchased"] = NumberState.PURCHASED


def add_numbers_commands(
    numbers: argparse.ArgumentParser,
    common_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    """The options of ``switchboard numbers`` (the CLI makes the command's parser)."""
    sub = numbers.add_subparsers(dest="numbers_command", required=True)
    load = sub.add_parser("import", help="add or update carriers and numbers from TOML or CSV")
    load.add_argument("file", type=Path, help="TOML ([[carriers]], [[numbers]]) or .csv")
    listing = sub.add_parser("list", help="list numbers with their state")
    which = listing.add_mutually_exclusive_group()
    for state in _STATES:
        which.add_argument(
            f"--{state}", dest="state", action="store_const", const=state, help=f"only {state}"
        )
    remove = sub.add_parser("remove", help="remove unsold numbers from the inventory")
    remove.add_argument("numbers", nargs="*", help="E.164 numbers")
    remove.add_argument("--carrier", help="all unsold numbers of this carrier")
    for parser in (load, listing, remove):
        common_options(parser)


def add_carriers_commands(
    carriers: argparse.ArgumentParser,
    common_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    """The options of ``switchboard carriers``."""
    csub = carriers.add_subparsers(dest="carriers_command", required=True)
    clist = csub.add_parser("list", help="list carriers")
    clist.add_argument("--show-settings", action="store_true", help="include passwords etc.")
    add = csub.add_parser("add", help="create or replace a carrier")
    add.add_argument("name")
    add.add_argument("--kind", default=CarrierKind.SMPP.value, choices=[CarrierKind.SMPP.value])
    add.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a kind-specific setting, e.g. host=smsc.example.net (repeatable)",
    )
    cremove = csub.add_parser("remove", help="remove a carrier and its unsold numbers")
    cremove.add_argument("name")
    for parser in (clist, add, cremove):
        common_options(parser)


# Refuses a carrier whose settings its link would refuse at the next start (ConfigError);
# handed in by the CLI, which knows the links (gateways/).
CarrierCheck = Callable[[CarrierDefinition], None]


def run_numbers_command(
    args: argparse.Namespace, open_database: DatabaseOpener, check_carrier: CarrierCheck
) -> int:
    try:
        return asyncio.run(_run(args, open_database, check_carrier, sys.stdout))
    except SwitchboardError as exc:
        print(f"switchboard: {exc.message}", file=sys.stderr)
        return 1


@asynccontextmanager
async def _service(open_database: DatabaseOpener) -> AsyncIterator[NumbersService]:
    async with open_database() as database:
        service = sql_numbers_service(database, SystemClock())
        await service.start()  # the demo, if this database never had it
        yield service


def number_directory(database: Database) -> NumbersService:
    """Who owns which number, for ``sim sms send`` (it reads; it loads no demo)."""
    return sql_numbers_service(database, SystemClock())


async def _run(
    args: argparse.Namespace, open_database: DatabaseOpener, check: CarrierCheck, out: TextIO
) -> int:
    async with _service(open_database) as service:
        if args.command == "carriers":
            return await _carriers(service, args, check, out)
        command = args.numbers_command
        if command == "import":
            inventory = read_inventory_file(args.file)
            for carrier in inventory.carriers:
                check(carrier)
            added = await service.apply(inventory)
            print(
                f"Imported {len(inventory.numbers)} numbers ({added} new) and "
                f"{len(inventory.carriers)} carriers from {args.file}.",
                file=out,
            )
        elif command == "list":
            await _list(service, _STATES.get(args.state or ""), out)
        elif command == "remove":
            if not args.numbers and not args.carrier:
                print("switchboard: name numbers or --carrier.", file=sys.stderr)
                return 2
            removed = await service.inventory.remove_numbers(args.numbers, carrier=args.carrier)
            print(f"Removed {removed} numbers (purchased numbers stay).", file=out)
    return 0


async def _list(service: NumbersService, state: NumberState | None, out: TextIO) -> None:
    after: str | None = None
    while True:
        page = await service.inventory.list_numbers(state, service.now_ms(), after, _PAGE)
        for number, current in page:
            print(_describe(number, current), file=out)
        if len(page) < _PAGE:
            return
        after = page[-1][0].phone_number


async def _carriers(
    service: NumbersService, args: argparse.Namespace, check: CarrierCheck, out: TextIO
) -> int:
    command = args.carriers_command
    if command == "list":
        for carrier in await service.carriers():
            line = f"{carrier.name}  {carrier.kind.value}"
            if args.show_settings and carrier.settings:
                line += "  " + " ".join(f"{k}={v}" for k, v in sorted(carrier.settings.items()))
            print(line, file=out)
    elif command == "add":
        entry: dict[str, Any] = {"name": args.name, "kind": args.kind}
        for item in args.settings:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                print(f"switchboard: --set wants KEY=VALUE, not '{item}'.", file=sys.stderr)
                return 2
            entry[key.strip()] = int(value) if value.isdigit() else value
        carrier = parse_carrier(entry, "carrier")
        check(carrier)  # refused now, not at the next start
        created = await service.inventory.put_carrier(carrier, service.now_ms())
        print(f"Carrier {'created' if created else 'updated'}: {carrier.name}", file=out)
    elif command == "remove":
        removed = await service.inventory.remove_carrier(args.name)
        print(f"Removed carrier {args.name} and {removed} unsold numbers.", file=out)
    return 0


def _describe(number: InventoryNumber, state: NumberState) -> str:
    place = ", ".join(p for p in (number.locality, number.administrative_division) if p)
    return (
        f"{number.phone_number}  {number.country_code}  {number.phone_number_type.value}  "
        f"{number.assignment_type.value}  {number.carrier}  {state.value}  "
        f"calling={number.capabilities.calling.value}  sms={number.capabilities.sms.value}  "
        f"{number.cost.amount:.2f} {number.cost.currency}" + (f"  {place}" if place else "")
    )
