"""SIP routing tables (migration 0014 creates the same)."""

from __future__ import annotations

import sqlalchemy as sa

from switchboard.storage.database import metadata

# One row (id 1): the revision every write compares and bumps.
sip_routing_state = sa.Table(
    "sip_routing_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("revision", sa.BigInteger, nullable=False),
)

sip_trunks = sa.Table(
    "sip_trunks",
    metadata,
    sa.Column("fqdn", sa.String(249), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("sip_signaling_port", sa.Integer, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("settings", sa.Text, nullable=False),  # JSON: our own settings (TrunkSettings)
)

sip_routes = sa.Table(
    "sip_routes",
    metadata,
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("description", sa.String(1024), nullable=True),
    sa.Column("number_pattern", sa.String(1024), nullable=False),
    sa.Column("trunks", sa.Text, nullable=False),  # JSON list of FQDNs, failover order
)
