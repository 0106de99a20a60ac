"""The production checklist ``serve --mode production`` enforces (docs/deploy.md).

    refused (ConfigError, exit 2): SQLite. The schema not at the newest is refused by the
        database itself (storage/database.py: run ``switchboard db upgrade``).
    warned (one line each on stderr, the node starts): the in-process bus (one node only),
        a certificate of the local CA (clients must be handed its ca.pem), /metrics open to
        anyone.

SQLite is refused because what production needs of the database (backups while it runs,
several nodes, a disk that is not the node's) it cannot give; the rest can be right for one
small node behind a proxy, so they are said, not refused.
"""

from __future__ import annotations

from switchboard.core.errors import ConfigError
from switchboard.core.sections import NodeConfig


def production_warnings(config: NodeConfig) -> list[str]:
    """Raise for what production refuses; the warnings for what it tolerates."""
    if config.storage.database_url.startswith("sqlite"):
        raise ConfigError(
            "production mode refuses SQLite (one node, backups only when stopped): give "
            "--database-url postgresql+asyncpg://user@host/db (docs/deploy.md), or run "
            "--mode development"
        )
    warnings: list[str] = []
    if not config.bus.clustered:
        warnings.append(
            "production: no --redis-url, so the in-process bus: this node will not see "
            "others; fine for one node only"
        )
    if config.server.local_ca:
        warnings.append(
            "production: serving a certificate of the self-made local CA: clients must trust "
            f"{config.server.data_dir / 'tls' / 'ca.pem'}; give --tls-cert/--tls-key, or "
            "--no-tls behind a TLS proxy"
        )
    if not config.server.metrics_allowed_networks:
        warnings.append(
            "production: /metrics is open to anyone who reaches the node: set "
            "metrics_allowed_networks (e.g. your Prometheus's address)"
        )
    return warnings
