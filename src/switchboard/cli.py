"""The ``switchboard`` command: serve, connection-string, keys rotate, events, numbers, trunks.

What stops a command is said in one line and an exit code (docs/operations.md): a
``StartupError`` (core/errors.py) raised where the problem is known is printed here, once, as
``switchboard: <what is wrong>: <what to do>``; a bad option is one line too. Only ``serve``
imports the node (switchboard.app and its media stack); ``--help`` and the shell commands do
not, so they answer at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from switchboard import __version__
from switchboard.core.config import NodeConfig, Settings, load_settings, node_config
from switchboard.core.errors import ConfigError, DataDirError, StartupError
from switchboard.core.logs import LOG_FORMATS, configure_logging

if TYPE_CHECKING:
    from switchboard.numbers.models import CarrierDefinition

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see: {self.prog} --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a port number: use 0-65535 (0 picks a free one)"
        )
    return port


def _common_options(parser: argparse.ArgumentParser, *, listens: bool = False) -> None:
    parser.add_argument("--config", type=Path, help="TOML config file (see sample-config.toml)")
    parser.add_argument("--data-dir", type=Path, help="state directory (default ./.switchboard)")
    parser.add_argument("--database-url", help="e.g. postgresql+asyncpg://user@host/db")
    parser.add_argument("--public-host", help="host name clients use; added to the certificate")
    if listens:  # only serve binds; the shell commands work on the database
        parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
        parser.add_argument(
            "--port", type=_port, help="port to bind; 0 picks a free one (default 8443)"
        )


def _events_options(parser: argparse.ArgumentParser) -> None:
    from switchboard.events.cli import add_events_commands

    add_events_commands(parser, _common_options)


def _numbers_options(parser: argparse.ArgumentParser) -> None:
    from switchboard.numbers.cli import add_numbers_commands

    add_numbers_commands(parser, _common_options)


def _carriers_options(parser: argparse.ArgumentParser) -> None:
    from switchboard.numbers.cli import add_carriers_commands

    add_carriers_commands(parser, _common_options)


def _trunks_options(parser: argparse.ArgumentParser) -> None:
    from switchboard.siprouting.cli import add_trunks_commands

    add_trunks_commands(parser, _common_options)


def _sim_options(parser: argparse.ArgumentParser) -> None:
    from switchboard.gateways.voicesim.cli import add_call_commands
    from switchboard.sms.cli import add_sim_commands

    add_call_commands(add_sim_commands(parser, _common_options), _common_options)


def _push_options(parser: argparse.ArgumentParser) -> None:
    from switchboard.push.cli import add_push_commands

    add_push_commands(parser, _common_options)


# Commands whose options live in their domain's module (which imports its whole domain):
# their parsers are filled in only when one of them runs, so ``--help`` stays quick.
_DOMAIN_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "events": ("event subscriptions, dead letters, live tail", _events_options),
    "numbers": ("the phone number inventory", _numbers_options),
    "carriers": ("carriers that provide numbers", _carriers_options),
    "trunks": ("SIP trunks and routes (docs/sip.md)", _trunks_options),
    "sim": ("the simulator carrier's virtual handsets and phones", _sim_options),
    "push": ("push notifications: test a user's devices", _push_options),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``command``, the domain commands other than that one are
    listed by name and help only (``""``: all of them)."""
    parser = _Parser(prog="switchboard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"switchboard {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    _common_options(serve, listens=True)
    serve.add_argument("--redis-url", help="Redis for multi-node deployments")
    serve.add_argument("--mode", choices=["development", "production"])
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.add_argument("--log-format", choices=LOG_FORMATS, help="text (default) or json lines")
    serve.add_argument("--http-server", choices=["uvicorn", "granian"])
    serve.add_argument("--tls-cert", help="your certificate (PEM chain); re-read on SIGHUP")
    serve.add_argument("--tls-key", help="its private key (PEM, unencrypted)")
    serve.add_argument(
        "--no-tls",
        dest="tls",
        action="store_const",
        const=False,
        help="plain HTTP, for a TLS-terminating proxy in front (see trusted_proxies)",
    )
    serve.add_argument("--public-url", help="the URL clients use through a proxy")
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

    db = commands.add_parser("db", help="the database schema: check it, upgrade it")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    for name, help_ in (
        ("check", "exit 0 if the schema is the newest, 4 if `db upgrade` is needed"),
        ("upgrade", "migrate the schema to the newest (back the database up first)"),
    ):
        _common_options(db_commands.add_parser(name, help=help_))

    keys = commands.add_parser("keys", help="manage access and signing keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    rotate = key_commands.add_parser("rotate", help="regenerate one key; the others keep working")
    rotate.add_argument("which", choices=["primary", "secondary", "signing"])
    _common_options(rotate)
    for name, (help_, add_options) in _DOMAIN_COMMANDS.items():
        domain = commands.add_parser(name, help=help_)
        if command is None or command == name:
            add_options(domain)
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
        "log_format",
        "turn_enabled",
        "http_server",
        "tls",
        "tls_cert",
        "tls_key",
        "public_url",
    )
    overrides: dict[str, Any] = {name: getattr(args, name, None) for name in names}
    return load_settings(overrides, config_file=getattr(args, "config", None))


def _check_data_dir(path: Path) -> None:
    """A data directory that cannot work, said before anything is written (never created)."""
    if path.exists() and not path.is_dir():
        raise DataDirError(
            f"the data directory {path} is a file: choose another --data-dir (or move the file)"
        )
    if path.is_dir() and not os.access(path, os.W_OK | os.X_OK):
        raise DataDirError(
            f"the data directory {path} is not writable by this user: fix its permissions "
            "or choose another --data-dir"
        )


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((arg for arg in argv if not arg.startswith("-")), "")
    args = build_parser(command).parse_args(argv)
    try:
        code = _run(args)
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        _exit_as_sigpipe()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BaseException as exc:
        error = _startup_error(exc)
        if error is None:
            raise
        print(f"switchboard: {error.message}", file=sys.stderr)
        return error.exit_code


def _startup_error(exc: BaseException) -> StartupError | None:
    """The StartupError that stopped us, even from inside a task group."""
    if isinstance(exc, StartupError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if (found := _startup_error(inner)) is not None:
                return found
    return None


def _exit_as_sigpipe() -> NoReturn:
    """End as a C tool does when its reader is gone (``numbers list | head``): quietly,
    by SIGPIPE (the shell sees 141). Python ignores SIGPIPE and raises BrokenPipeError
    instead; its final flush of stdout would then print a second error, so stdout goes to
    /dev/null first."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGPIPE)
    sys.exit(128 + signal.SIGPIPE)  # not reached: the signal ends the process


def _run(args: argparse.Namespace) -> int:
    if args.command == "sample-config":
        sys.stdout.write(resources.files("switchboard").joinpath("sample-config.toml").read_text())
        return 0
    settings = _settings(args)
    _check_data_dir(settings.data_dir)
    config = node_config(settings)
    if args.command == "serve":
        return _serve(config)
    configure_logging(config.server.log_level, config.server.log_format)
    # Shell commands print their results on stdout; migration chatter is noise there.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return _run_shell_command(args, config)


def _run_shell_command(args: argparse.Namespace, config: NodeConfig) -> int:
    import asyncio

    from switchboard import cli_shell

    def database() -> Any:
        return cli_shell.open_database(config)

    if args.command == "connection-string":
        print(asyncio.run(cli_shell.connection_string(config, secondary=args.secondary)))
        return 0
    if args.command == "keys":
        print(asyncio.run(cli_shell.rotate_key(config, args.which)))
        return 0
    if args.command == "db":
        line, code = asyncio.run(
            cli_shell.database_schema(config, upgrade=args.db_command == "upgrade")
        )
        print(line)
        return code
    if args.command == "events":
        from switchboard.events.cli import run_events_command

        return run_events_command(
            args, config.events, config.server, database, lambda: cli_shell.open_bus(config)
        )
    if args.command in ("numbers", "carriers"):
        from switchboard.numbers.cli import run_numbers_command

        return run_numbers_command(args, database, _check_carrier)
    if args.command == "trunks":
        from switchboard.siprouting.cli import run_trunks_command

        named = {str(t.get("name", t.get("host"))) for t in config.sip.trunks}
        return run_trunks_command(args, database, lambda: cli_shell.open_bus(config), named)
    if args.command == "push":
        from switchboard.app.push import guarded_poster
        from switchboard.events.endpoints import EndpointGuard, EndpointPolicy
        from switchboard.events.transport import delivery_client
        from switchboard.push.cli import run_push_command

        policy = EndpointPolicy.for_mode(config.server.mode, config.push.allowed_endpoints)
        guard = EndpointGuard(policy)
        return run_push_command(
            args,
            config.push,
            database,
            lambda: delivery_client(guard, timeout=10.0, connections=4),
            lambda: guarded_poster(guard, timeout=10.0, connections=4),
        )
    if args.command == "sim" and args.sim_command == "call":
        from switchboard.gateways.voicesim.cli import run_call_command

        return run_call_command(args, lambda: cli_shell.node_target(config))
    if args.command == "sim":
        from switchboard.numbers.cli import number_directory
        from switchboard.sms.cli import run_sim_command

        return run_sim_command(args, database, number_directory)
    return 2


def _check_tls_files(config: NodeConfig) -> None:
    server = config.server
    if server.tls and server.tls_cert and server.tls_key:
        from switchboard.http.tls_reload import check_certificate

        check_certificate(Path(server.tls_cert), Path(server.tls_key))
    elif server.local_ca:
        from switchboard.http.tls import refuse_foreign_certificate

        refuse_foreign_certificate(server.data_dir / "tls" / "server.pem")


def _check_carrier(carrier: CarrierDefinition) -> None:
    """What the carrier's link checks at start (app/parts.py), checked when it is added."""
    from switchboard.gateways.smpp.settings import SmppSettings
    from switchboard.numbers.models import CarrierKind

    if carrier.kind is CarrierKind.SMPP:
        try:
            SmppSettings.from_mapping(carrier.settings)
        except ConfigError as exc:
            raise ConfigError(f"carrier '{carrier.name}': {exc.message}") from None


def _serve(config: NodeConfig) -> int:
    _check_tls_files(config)  # before the node's imports (a second or more)
    import uvloop

    from switchboard.app import Node, build_node
    from switchboard.core.checklist import production_warnings
    from switchboard.http.listen import check_host
    from switchboard.http.server import serve
    from switchboard.traversal.relay import check_turn_settings

    # Logging starts after the imports: some libraries log their set-up at import.
    configure_logging(config.server.log_level, config.server.log_format)
    if not config.server.development:
        for warning in production_warnings(config):
            print(f"switchboard: warning: {warning}", file=sys.stderr)
    check_host(config.server.host)  # before the certificate lists it
    check_turn_settings(config.turn, config.server)  # e.g. --turn without coturn installed

    async def build(port: int) -> Node:
        return await build_node(config, port=port)

    return uvloop.run(serve(config.server, build))
