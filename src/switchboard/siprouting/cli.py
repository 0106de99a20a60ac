"""``switchboard trunks ...``: SIP trunks and routes, from the shell.

    switchboard trunks list                          every trunk, one line each
    switchboard trunks show FQDN                     one trunk, every setting (secrets masked)
    switchboard trunks add FQDN --port 5061 ...      a new trunk (refused when it exists)
    switchboard trunks set FQDN --max-calls 20 ...   change the given settings only
    switchboard trunks remove FQDN                   (refused while a route names it)
    switchboard trunks routes list                   the routes, in the order they are tried
    switchboard trunks routes set --route NAME PATTERN FQDN[,FQDN…] ...   replace them all
                                                     (no --route: no routes)

Like ``numbers`` and ``carriers``, these work on the database directly (``--data-dir`` or
``--database-url``), no server needed; checked by the same code as the API and the config
file (a typo is refused now, in one line). Running nodes take the change at once over Redis,
else within ``RELOAD_SECONDS`` (app/siprouting.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from typing import Any, TextIO

from switchboard.bus.base import BusOpener
from switchboard.core.errors import SwitchboardError
from switchboard.siprouting.models import SipConfigurationError, SipTrunk
from switchboard.siprouting.service import SipRoutingService
from switchboard.siprouting.sql_store import SqlSipRoutingStore
from switchboard.siprouting.validation import route, trunk_from_table
from switchboard.storage.database import DatabaseOpener

CommonOptions = Callable[[argparse.ArgumentParser], None]


def add_trunks_commands(trunks: argparse.ArgumentParser, common_options: CommonOptions) -> None:
    """The options of ``switchboard trunks`` (the CLI makes the command's parser)."""
    sub = trunks.add_subparsers(dest="trunks_command", required=True)
    listing = sub.add_parser("list", help="list trunks")
    show = sub.add_parser("show", help="one trunk's settings (secrets masked)")
    show.add_argument("fqdn")
    add = sub.add_parser("add", help="add a trunk")
    add.add_argument("fqdn", help="the trunk's FQDN (what routes and the /sip API name)")
    change = sub.add_parser("set", help="change a trunk's given settings")
    change.add_argument("fqdn")
    for parser in (add, change):
        _trunk_options(parser)
    remove = sub.add_parser("remove", help="remove a trunk")
    remove.add_argument("fqdn")
    routes = sub.add_parser("routes", help="the routes over the trunks")
    rsub = routes.add_subparsers(dest="routes_command", required=True)
    rlist = rsub.add_parser("list", help="the routes, in the order they are tried")
    rset = rsub.add_parser("set", help="replace every route (first match wins)")
    rset.add_argument(
        "--route",
        nargs=3,
        action="append",
        default=[],
        metavar=("NAME", "PATTERN", "TRUNKS"),
        help="a route: its name, number pattern (whole number) and comma-separated trunk "
        "FQDNs in failover order (repeatable, in order)",
    )
    for parser in (listing, show, add, change, remove, rlist, rset):
        common_options(parser)


def _trunk_options(parser: argparse.ArgumentParser) -> None:
    # dest: the shell's own settings read ``args.port`` / ``args.host`` (the server's).
    parser.add_argument(
        "--port", dest="trunk_port", type=int, help="SIP signaling port (default 5060)"
    )
    parser.add_argument(
        "--host", dest="trunk_host", help="where SIP goes, if not the FQDN (e.g. an address)"
    )
    parser.add_argument("--transport", help="udp, tcp or tls")
    parser.add_argument("--username", help="digest user for 401/407 (with --password)")
    parser.add_argument("--password", help="digest password; '-' reads it from stdin")
    parser.add_argument(
        "--no-credentials", action="store_true", help="drop the username and password"
    )
    parser.add_argument(
        "--register", action=argparse.BooleanOptionalAction, help="REGISTER with the carrier"
    )
    parser.add_argument("--register-seconds", type=int, help="seconds asked for in REGISTER")
    parser.add_argument(
        "--ca-file", help="TLS: the CA file the carrier's certificate must chain to"
    )
    parser.add_argument("--codecs", help="comma-separated, our order: PCMU,PCMA")
    parser.add_argument("--caller-id", help="as-is (E.164 with +) or no-plus")
    parser.add_argument("--max-calls", type=int, help="concurrent calls, either way")
    parser.add_argument("--options-seconds", type=float, help="OPTIONS keep-alive; 0: none")
    parser.add_argument("--enabled", action=argparse.BooleanOptionalAction, help="route to it")


def run_trunks_command(
    args: argparse.Namespace,
    open_database: DatabaseOpener,
    open_bus: BusOpener,
    file_trunks: Collection[str] = (),
) -> int:
    """``file_trunks``: the trunks the config file names (it replaces them at each start)."""
    fqdn = getattr(args, "fqdn", None)
    if fqdn in file_trunks and args.trunks_command in ("add", "set", "remove"):
        print(
            f"switchboard: note: the config file names trunk {fqdn!r}; it is written over "
            "at the next start (docs/sip.md)",
            file=sys.stderr,
        )
    try:
        return asyncio.run(_run(args, open_database, open_bus, sys.stdout))
    except SipConfigurationError as exc:
        print(f"switchboard: {exc.detail}", file=sys.stderr)
        return 2
    except SwitchboardError as exc:
        print(f"switchboard: {exc.message}", file=sys.stderr)
        return 1


@asynccontextmanager
async def _service(
    open_database: DatabaseOpener, open_bus: BusOpener
) -> AsyncIterator[SipRoutingService]:
    async with open_database() as database, open_bus() as bus:
        yield SipRoutingService(SqlSipRoutingStore(database), bus)


async def _run(
    args: argparse.Namespace, open_database: DatabaseOpener, open_bus: BusOpener, out: TextIO
) -> int:
    async with _service(open_database, open_bus) as service:
        command = args.trunks_command
        if command == "routes":
            return await _routes(service, args, out)
        if command == "list":
            for trunk in (await service.configuration()).trunks:
                print(describe(trunk), file=out)
            return 0
        current = (await service.configuration()).trunk(args.fqdn)
        if command in ("show", "set", "remove") and current is None:
            print(
                f"switchboard: no trunk {args.fqdn!r} (see: switchboard trunks list)",
                file=sys.stderr,
            )
            return 1
        if command == "show":
            assert current is not None
            print(describe(current, every=True), file=out)
        elif command == "add":
            if current is not None:
                print(
                    f"switchboard: trunk {args.fqdn!r} exists; change it with "
                    "switchboard trunks set",
                    file=sys.stderr,
                )
                return 1
            trunk = trunk_from_table({"name": args.fqdn, **_table(args)}, f"trunk {args.fqdn}")
            await service.put_trunk(trunk)
            print(f"Trunk added: {describe(trunk)}", file=out)
        elif command == "set":
            trunk = trunk_from_table(_table(args), f"trunk {args.fqdn}", base=current)
            await service.put_trunk(trunk)
            print(f"Trunk updated: {describe(trunk)}", file=out)
        elif command == "remove":
            await service.remove_trunk(args.fqdn)
            print(f"Trunk removed: {args.fqdn}", file=out)
    return 0


def _table(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line, as a ``[[trunks]]`` table's keys."""
    table: dict[str, Any] = {}
    if args.trunk_port is not None:
        table["port"] = args.trunk_port
    if args.trunk_host is not None:
        table["host"] = args.trunk_host
    for key in (
        "transport",
        "username",
        "register",
        "register_seconds",
        "ca_file",
        "codecs",
        "caller_id",
        "max_calls",
        "options_seconds",
        "enabled",
    ):
        value = getattr(args, key)
        if value is not None:
            table[key] = value
    if args.password is not None:
        table["password"] = (
            sys.stdin.readline().rstrip("\n") if args.password == "-" else args.password
        )
    if args.no_credentials:
        table["username"] = table["password"] = None
    return table


async def _routes(service: SipRoutingService, args: argparse.Namespace, out: TextIO) -> int:
    if args.routes_command == "set":
        routes = [
            route(
                name,
                pattern,
                [t.strip() for t in trunks.split(",") if t.strip()],
                None,
                f"route {name!r}",
            )
            for name, pattern, trunks in args.route
        ]
        await service.set_routes(routes)
        print(f"Routes set: {len(routes)}.", file=out)
    for each in (await service.configuration()).routes:
        print(f"{each.name}  {each.number_pattern}  {','.join(each.trunks) or '-'}", file=out)
    return 0


def describe(trunk: SipTrunk, *, every: bool = False) -> str:
    """One line; the password is never printed (only that one is set)."""
    s = trunk.settings
    parts = [
        trunk.fqdn,
        f"port={trunk.sip_signaling_port}",
        "enabled" if trunk.enabled else "disabled",
        f"host={trunk.host}",
        f"transport={s.transport.value}",
    ]
    if every:
        parts += [
            f"codecs={','.join(s.codecs)}",
            f"caller_id={s.caller_id.value}",
            f"max_calls={s.max_calls}",
            f"options_seconds={s.options_seconds:g}",
            f"register={'on' if s.register else 'off'}",
            f"register_seconds={s.register_seconds}",
        ]
        if s.ca_file is not None:
            parts.append(f"ca_file={s.ca_file}")
    if s.username is not None:
        parts.append(f"username={s.username} password=***")
    return "  ".join(parts)
