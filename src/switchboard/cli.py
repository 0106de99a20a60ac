"""The ``switchboard`` command: serve, connection-string, keys rotate, events, numbers."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import uvloop

from switchboard.app import (
    ACCESS_KEYS_CHANGED,
    Node,
    open_bus,
    open_database,
)
from switchboard.app.parts import signing_key_ring
from switchboard.core.clock import SystemClock
from switchboard.core.config import ConfigError, NodeConfig, Settings, load_settings, node_config
from switchboard.events.cli import add_events_commands, run_events_command
from switchboard.gateways.voicesim.cli import add_call_commands, run_call_command
from switchboard.http.context import RequestIdLogFilter
from switchboard.numbers.cli import add_numbers_commands, run_numbers_command
from switchboard.sms.cli import add_sim_commands, run_sim_command
from switchboard.storage.secrets import SqlSecretStore


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML config file (see sample-config.toml)")
    parser.add_argument("--data-dir", type=Path, help="state directory (default ./.switchboard)")
    parser.add_argument("--database-url", help="e.g. postgresql+asyncpg://user@host/db")
    parser.add_argument("--public-host", help="host name clients use; added to the certificate")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to bind; 0 picks a free one (default 8443)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    _common_options(serve)
    serve.add_argument("--redis-url", help="Redis for multi-node deployments")
    serve.add_argument("--mode", choices=["development", "production"])
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.add_argument("--http-server", choices=["uvicorn", "granian"])
    serve.add_argument(
        "--turn",
        dest="turn_enabled",
        action="store_const",
        const=True,
        help="start and supervise a local coturn for TURN relay credentials (docs/turn.md)",
    )

    conn = commands.add_parser("connection-string", help="print the connection string")
    _common_options(conn)
    conn.add_argument("--secondary", action="store_true", help="use the secondary key")

    commands.add_parser("sample-config", help="print a documented sample config file")

    keys = commands.add_parser("keys", help="manage access and signing keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    rotate = key_commands.add_parser("rotate", help="regenerate one key; the others keep working")
    rotate.add_argument("which", choices=["primary", "secondary", "signing"])
    _common_options(rotate)
    add_events_commands(commands, _common_options)
    add_numbers_commands(commands, _common_options)
    add_call_commands(add_sim_commands(commands, _common_options), _common_options)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    names = (
        "data_dir",
        "database_url",
        "public_host",
        "host",
        "port",
        "redis_url",
        "mode",
        "log_level",
        "turn_enabled",
        "http_server",
    )
    overrides: dict[str, Any] = {name: getattr(args, name, None) for name in names}
    return load_settings(overrides, config_file=getattr(args, "config", None))


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


async def _connection_string(config: NodeConfig, *, secondary: bool = False) -> str:
    server = config.server
    endpoint_file = server.data_dir / "endpoint"
    endpoint = endpoint_file.read_text().strip() if endpoint_file.exists() else server.endpoint()
    async with open_database(config) as database:
        primary, second = await SqlSecretStore(database).access_keys()
    return f"endpoint={endpoint};accesskey={second if secondary else primary}"


async def _node_target(config: NodeConfig) -> tuple[str, str, str]:
    """A running node's endpoint, primary access key and CA file (``sim call``)."""
    connection = await _connection_string(config)
    parts = dict(p.split("=", 1) for p in connection.split(";"))
    ca = config.server.data_dir / "tls" / "ca.pem"
    return parts["endpoint"].rstrip("/"), parts["accesskey"], str(ca)


async def _rotate(config: NodeConfig, which: str) -> str:
    async with open_database(config) as database:
        if which == "signing":
            ring = signing_key_ring(database, config.auth, SystemClock())
            await ring.load()
            signing = await ring.rotate()
            return f"New token signing key {signing.kid}; earlier tokens stay valid until expiry."
        key = await SqlSecretStore(database).rotate_access_key(which)
        if config.bus.clustered:  # tell running nodes at once; otherwise they poll
            async with open_bus(config) as bus:
                await bus.publish(ACCESS_KEYS_CHANGED, which.encode())
        return f"The {which} access key was regenerated; the other key still works.\n" + (
            f"New {which} key: {key}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"switchboard: {exc.message}", file=sys.stderr)
        return 2
    config = node_config(settings)
    _configure_logging(config.server.log_level)
    if args.command != "serve":
        # Shell commands print their results on stdout; migration chatter is noise there.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command == "serve":
        return _serve(config)
    if args.command == "sample-config":
        sys.stdout.write(resources.files("switchboard").joinpath("sample-config.toml").read_text())
        return 0
    if args.command == "connection-string":
        print(asyncio.run(_connection_string(config, secondary=args.secondary)))
        return 0
    if args.command == "events":
        return run_events_command(
            args,
            config.events,
            config.server,
            lambda: open_database(config),
            lambda: open_bus(config),
        )
    if args.command in ("numbers", "carriers"):
        return run_numbers_command(args, lambda: open_database(config))
    if args.command == "sim" and args.sim_command == "call":
        return run_call_command(args, lambda: _node_target(config))
    if args.command == "sim":
        return run_sim_command(args, lambda: open_database(config))
    if args.command == "keys":
        print(asyncio.run(_rotate(config, args.which)))
        return 0
    return 2


def _serve(config: NodeConfig) -> int:
    from switchboard.app import build_node
    from switchboard.http.server import serve
    from switchboard.traversal.relay import check_turn_settings

    try:
        check_turn_settings(config.turn, config.server)  # e.g. --turn without coturn installed
    except ConfigError as exc:
        print(f"switchboard: {exc.message}", file=sys.stderr)
        return 2

    async def build(port: int) -> Node:
        return await build_node(config, port=port)

    try:
        return uvloop.run(serve(config.server, build))
    except ConfigError as exc:  # found while starting (e.g. a bad [[events.subscriptions]])
        print(f"switchboard: {exc.message}", file=sys.stderr)
        return 2
