"""SqlSipRoutingStore: the routing table in SQLite or PostgreSQL (tables.py)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import sqlalchemy as sa

from switchboard.siprouting.models import (
    CallerIdRule,
    SipConfiguration,
    SipRoute,
    SipTrunk,
    Transport,
    TrunkSettings,
)
from switchboard.siprouting.tables import sip_routes, sip_routing_state, sip_trunks
from switchboard.siprouting.validation import compile_number_pattern
from switchboard.storage.database import Database


class SqlSipRoutingStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def load(self) -> tuple[int, SipConfiguration]:
        async with self._db.read() as conn:
            revision = await conn.scalar(
                sa.select(sip_routing_state.c.revision).where(sip_routing_state.c.id == 1)
            )
            trunks = (await conn.execute(sa.select(sip_trunks).order_by("position"))).all()
            routes = (await conn.execute(sa.select(sip_routes).order_by("position"))).all()
        return int(revision or 0), SipConfiguration(
            tuple(_trunk(row._mapping) for row in trunks),
            tuple(_route(row._mapping) for row in routes),
        )

    async def replace(self, revision: int, config: SipConfiguration) -> int | None:
        async with self._db.write() as conn:
            if revision == 0:
                exists = await conn.scalar(
                    sa.select(sa.func.count()).select_from(sip_routing_state)
                )
                if exists:
                    return None
                await conn.execute(sip_routing_state.insert().values(id=1, revision=1))
            else:
                updated = await conn.execute(
                    sip_routing_state.update()
                    .where(sip_routing_state.c.id == 1, sip_routing_state.c.revision == revision)
                    .values(revision=revision + 1)
                )
                if updated.rowcount != 1:
                    return None
            await conn.execute(sip_trunks.delete())
            await conn.execute(sip_routes.delete())
            if config.trunks:
                await conn.execute(
                    sip_trunks.insert(),
                    [_trunk_row(i, trunk) for i, trunk in enumerate(config.trunks)],
                )
            if config.routes:
                await conn.execute(
                    sip_routes.insert(),
                    [_route_row(i, each) for i, each in enumerate(config.routes)],
                )
        return revision + 1


def _trunk_row(position: int, trunk: SipTrunk) -> dict[str, Any]:
    settings = dataclasses.asdict(trunk.settings)
    settings["codecs"] = list(trunk.settings.codecs)
    return {
        "fqdn": trunk.fqdn,
        "position": position,
        "sip_signaling_port": trunk.sip_signaling_port,
        "enabled": trunk.enabled,
        "settings": json.dumps(settings),
    }


def _trunk(row: Any) -> SipTrunk:
    raw = json.loads(row["settings"])
    known = {f.name for f in dataclasses.fields(TrunkSettings)}
    values = {k: v for k, v in raw.items() if k in known}  # a setting a later version dropped
    values["transport"] = Transport(values.get("transport", "udp"))
    values["caller_id"] = CallerIdRule(values.get("caller_id", "as-is"))
    values["codecs"] = tuple(values.get("codecs", ("PCMU", "PCMA")))
    return SipTrunk(
        row["fqdn"], int(row["sip_signaling_port"]), bool(row["enabled"]), TrunkSettings(**values)
    )


def _route_row(position: int, each: SipRoute) -> dict[str, Any]:
    return {
        "position": position,
        "name": each.name,
        "description": each.description,
        "number_pattern": each.number_pattern,
        "trunks": json.dumps(list(each.trunks)),
    }


def _route(row: Any) -> SipRoute:
    pattern = row["number_pattern"]
    return SipRoute(
        row["name"],
        pattern,
        tuple(json.loads(row["trunks"])),
        row["description"],
        compile_number_pattern(pattern),
    )
