"""What the shell commands need of a node's state, without building a node.

``connection-string``, ``keys``, ``events``, ``numbers``, ``carriers``, ``trunks`` and ``sim``
work on the database (and, to wake running nodes, the bus) directly. They open them here
rather than through the composition root (switchboard.app), whose import brings the media
stack (aiortc, av, numpy: about a second) that no shell command uses. The bus choice is the
composition root's one ``if`` (app/parts.py ``new_bus``), repeated for this lighter path.

``connection-string`` and ``keys rotate`` read state a node made: pointed at a data
directory that holds none (a typo), they refuse (``DataDirError``) instead of creating a fresh
database whose keys no server knows.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.engine import make_url

from switchboard.bus.base import Bus
from switchboard.core.clock import SystemClock
from switchboard.core.config import NodeConfig
from switchboard.core.errors import DatabaseNotMigratedError, DataDirError
from switchboard.storage.database import Database
from switchboard.storage.secrets import ACCESS_KEYS_CHANGED, SqlSecretStore


@contextlib.asynccontextmanager
async def open_database(config: NodeConfig) -> AsyncIterator[Database]:
    """The node's database for a shell command (migrated in development mode; in production
    checked, as a node does), then closed."""
    database = Database(config.storage.database_url)
    await database.start(migrate=config.server.development)
    try:
        yield database
    finally:
        await database.stop()


@contextlib.asynccontextmanager
async def open_bus(config: NodeConfig) -> AsyncIterator[Bus]:
    """The node's bus for a shell command (so running nodes hear what it changes)."""
    bus: Bus
    if config.bus.redis_url:
        from switchboard.bus.redis import RedisBus

        bus = RedisBus(config.bus.redis_url, config.bus.redis_namespace)
    else:
        from switchboard.bus.memory import MemoryBus

        bus = MemoryBus()
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()


def require_node_state(config: NodeConfig) -> None:
    """Refuse a data directory (SQLite) in which no node ever ran."""
    url = make_url(config.storage.database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return  # PostgreSQL: the server says whether the database exists
    if not Path(url.database).is_file():
        data_dir = config.server.data_dir
        raise DataDirError(
            f"no Switchboard data in {data_dir} (no {Path(url.database).name}): pass the "
            f"--data-dir the server uses, or start one there first "
            f"(switchboard serve --data-dir {data_dir})"
        )


async def connection_string(config: NodeConfig, *, secondary: bool = False) -> str:
    require_node_state(config)
    server = config.server
    endpoint_file = server.data_dir / "endpoint"
    endpoint = endpoint_file.read_text().strip() if endpoint_file.exists() else server.endpoint()
    async with open_database(config) as database:
        primary, second = await SqlSecretStore(database).access_keys()
    return f"endpoint={endpoint};accesskey={second if secondary else primary}"


async def database_schema(config: NodeConfig, *, upgrade: bool) -> tuple[str, int]:
    """``db check`` (exit 4 when behind) and ``db upgrade``: one line, and the exit code."""
    database = Database(config.storage.database_url)
    try:
        await database.connect()
        before, head = await database.revisions()
        if upgrade:
            if before != head:
                await database.upgrade()
            after, _ = await database.revisions()
            return f"database schema: {after} (was {before or 'empty'})", 0
    finally:
        await database.stop()
    if before == head:
        return f"database schema: {head}, the newest", 0
    shown = "empty" if before is None else before
    return (
        f"database schema: {shown}, this Switchboard needs {head}: run `switchboard db upgrade`",
        DatabaseNotMigratedError.exit_code,
    )


async def node_target(config: NodeConfig) -> tuple[str, str, str]:
    """A running node's endpoint, primary access key and CA file (``sim call``)."""
    connection = await connection_string(config)
    parts = dict(p.split("=", 1) for p in connection.split(";"))
    ca = config.server.data_dir / "tls" / "ca.pem"
    return parts["endpoint"].rstrip("/"), parts["accesskey"], str(ca)


async def rotate_key(config: NodeConfig, which: str) -> str:
    require_node_state(config)
    async with open_database(config) as database:
        if which == "signing":
            from switchboard.identity.signing import rotate_signing_key

            kid = await rotate_signing_key(database, config.auth, SystemClock())
            return f"New token signing key {kid}; earlier tokens stay valid until expiry."
        key = await SqlSecretStore(database).rotate_access_key(which)
        if config.bus.clustered:  # tell running nodes at once; otherwise they poll
            async with open_bus(config) as bus:
                await bus.publish(ACCESS_KEYS_CHANGED, which.encode())
        return f"The {which} access key was regenerated; the other key still works.\n" + (
            f"New {which} key: {key}"
        )
