"""SipRoutingService: reads and changes the routing table; every change is checked whole,
written, then announced on the bus so each node's SIP gateway swaps its routes at once.

    change(fn) ─▶ store.load ─▶ fn(config) ─▶ check_configuration ─▶ store.replace(revision)
        (another writer came first ─▶ load again, retry) ─▶ bus SIP_ROUTING_CHANGED
    every node: SIP_ROUTING_CHANGED ─▶ store.load ─▶ the gateway's SipRouting.replace

ACS's PATCH is a JSON merge patch (``SipPatch``): a trunk set to null is deleted (one that
does not exist is no error), a trunk given is added or gets the given ACS fields (our own
settings stay), routes given replace the whole list. The config file's ``[[trunks]]`` /
``[[routes]]`` are applied by ``apply_file`` at each start: see docs/sip.md for precedence.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from switchboard.bus.base import Bus
from switchboard.siprouting.models import (
    SipConfiguration,
    SipConfigurationError,
    SipRoute,
    SipTrunk,
)
from switchboard.siprouting.store import SipRoutingStore
from switchboard.siprouting.validation import check_configuration, check_fqdn, check_port

log = logging.getLogger(__name__)

SIP_ROUTING_CHANGED = "siprouting.changed"  # bus topic; the message is the new revision
_RETRIES = 20


@dataclass(frozen=True, slots=True)
class TrunkPatch:
    sip_signaling_port: int | None = None
    enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class SipPatch:
    """A PATCH body: trunks by FQDN (None: delete) and, when given, the new route list."""

    trunks: Mapping[str, TrunkPatch | None] | None = None
    routes: tuple[SipRoute, ...] | None = None


class SipRoutingService:
    def __init__(self, store: SipRoutingStore, bus: Bus | None = None) -> None:
        self._store = store
        self._bus = bus

    async def configuration(self) -> SipConfiguration:
        _, config = await self._store.load()
        return config

    async def snapshot(self) -> tuple[int, SipConfiguration]:
        """The table with its revision (a node compares it with what its gateway has)."""
        return await self._store.load()

    async def update(self, patch: SipPatch) -> SipConfiguration:
        """ACS's PATCH /sip."""
        if not patch.trunks and patch.routes is None:
            raise SipConfigurationError("EmptyPatch", "Patch with no data provided.")
        trunk_changes = dict(patch.trunks or {})
        for fqdn, change in trunk_changes.items():
            check_fqdn(fqdn, f"trunks[{fqdn!r}]")
            if change is not None and change.sip_signaling_port is not None:
                check_port(change.sip_signaling_port, f"trunks[{fqdn!r}]")

        def apply(config: SipConfiguration) -> SipConfiguration:
            trunks = {t.fqdn: t for t in config.trunks}
            for fqdn, change in trunk_changes.items():
                if change is None:
                    trunks.pop(fqdn, None)
                    continue
                current = trunks.get(fqdn)
                if current is None:
                    if change.sip_signaling_port is None:  # ACS's Trunk requires it
                        raise SipConfigurationError(
                            "InvalidTrunkSipSignalingPort",
                            f"trunks[{fqdn!r}]: a new trunk needs its sipSignalingPort.",
                        )
                    current = SipTrunk(fqdn, change.sip_signaling_port)
                trunks[fqdn] = dataclasses.replace(
                    current,
                    sip_signaling_port=change.sip_signaling_port or current.sip_signaling_port,
                    enabled=current.enabled if change.enabled is None else change.enabled,
                )
            routes = config.routes if patch.routes is None else patch.routes
            return SipConfiguration(tuple(trunks.values()), routes)

        return await self.change(apply)

    async def put_trunk(self, trunk: SipTrunk) -> bool:
        """Add or replace one trunk whole (the CLI); True when it is new."""
        added = False

        def apply(config: SipConfiguration) -> SipConfiguration:
            nonlocal added
            trunks = {t.fqdn: t for t in config.trunks}
            added = trunk.fqdn not in trunks
            trunks[trunk.fqdn] = trunk
            return SipConfiguration(tuple(trunks.values()), config.routes)

        await self.change(apply)
        return added

    async def remove_trunk(self, fqdn: str) -> bool:
        removed = False

        def apply(config: SipConfiguration) -> SipConfiguration:
            nonlocal removed
            naming = [r.name for r in config.routes if fqdn in r.trunks]
            if naming:
                raise SipConfigurationError(
                    "MissingTrunk",
                    f"route {naming[0]!r} names trunk {fqdn!r}: change the routes first",
                )
            kept = tuple(t for t in config.trunks if t.fqdn != fqdn)
            removed = len(kept) != len(config.trunks)
            return SipConfiguration(kept, config.routes)

        await self.change(apply)
        return removed

    async def set_routes(self, routes: Sequence[SipRoute]) -> SipConfiguration:
        return await self.change(lambda config: SipConfiguration(config.trunks, tuple(routes)))

    async def apply_file(self, file: SipConfiguration) -> SipConfiguration:
        """The config file's trunks (each whole, over the stored one of its name) and, when it
        has any, its routes (replacing the stored list); other stored trunks stay."""
        if not file.trunks and not file.routes:
            return await self.configuration()

        def apply(config: SipConfiguration) -> SipConfiguration:
            trunks = {t.fqdn: t for t in config.trunks}
            trunks.update((t.fqdn, t) for t in file.trunks)
            routes = file.routes if file.routes else config.routes
            return SipConfiguration(tuple(trunks.values()), routes)

        return await self.change(apply)

    async def change(
        self, apply: Callable[[SipConfiguration], SipConfiguration]
    ) -> SipConfiguration:
        """Apply ``apply`` to the stored table, check the result whole, write it (retrying
        when another writer came first), then tell every node."""
        for _ in range(_RETRIES):
            revision, current = await self._store.load()
            changed = check_configuration(apply(current))
            if changed == current:
                return current
            written = await self._store.replace(revision, changed)
            if written is not None:
                await self._announce(written)
                return changed
        raise RuntimeError("the SIP routing table changed under every retry")

    async def _announce(self, revision: int) -> None:
        if self._bus is None:
            return
        try:
            await self._bus.publish(SIP_ROUTING_CHANGED, str(revision).encode())
        except Exception:  # written already; nodes also re-read on their next start
            log.exception("announcing SIP routing revision %d failed", revision)
