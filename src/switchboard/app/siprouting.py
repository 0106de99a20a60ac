"""The composition root's SIP trunking part: the node's SIP gateway over the stored routing
table, reconfigured without a restart.

    start: SipRoutingService.snapshot ─▶ trunks? ─▶ SipCarrier (binds sip_host:sip_port)
    bus SIP_ROUTING_CHANGED (any node's API or CLI change), or every 5 s
        ─▶ snapshot ─▶ a new revision? ─▶ SipCarrier.reconfigure (SipRouting.replace, trusted
           hosts, TCP peers, OPTIONS keep-alives) ─ the first trunk ever: the carrier starts

With no trunk at all no SIP socket is bound, and every phone call goes to the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from pathlib import Path

from switchboard.bus.base import Bus, Subscription
from switchboard.calling.pstn.ports import InboundCallHandler, PhoneCall, PhoneCallListener
from switchboard.core.sections import SipConfig
from switchboard.core.tasks import TaskScope
from switchboard.gateways.sip import SipCarrier
from switchboard.gateways.sip.errors import TrunkConfigError
from switchboard.gateways.sip.trunks import routing_from_configuration
from switchboard.http.tls import ensure_tls_material, server_ssl_context
from switchboard.media.endpoint.ticker import EndpointTicker
from switchboard.siprouting.models import SipConfiguration, SipConfigurationError
from switchboard.siprouting.service import SIP_ROUTING_CHANGED, SipRoutingService
from switchboard.siprouting.sql_store import SqlSipRoutingStore
from switchboard.siprouting.validation import configuration_from_tables
from switchboard.storage.database import Database

log = logging.getLogger(__name__)

RELOAD_SECONDS = 5.0  # a change whose bus message was lost (no Redis: the CLI) is seen this late


class SipTrunking:
    def __init__(
        self,
        routing: SipRoutingService,
        bus: Bus,
        inbound: InboundCallHandler,
        ticker: EndpointTicker,
        sip: SipConfig,
    ) -> None:
        self.carrier: SipCarrier | None = None
        self.revision = -1
        self._routing = routing
        self._bus = bus
        self._changes: Subscription | None = None
        self._inbound = inbound
        self._ticker = ticker
        self._sip = sip
        self._scope = TaskScope("sip routing watcher")

    async def start(self) -> None:
        self._changes = await self._bus.subscribe(SIP_ROUTING_CHANGED)  # before the read
        revision, config = await self._routing.snapshot()
        await self._apply(revision, config)
        await self._scope.start()
        self._scope.spawn(self._watch(), name="sip routing watcher")

    async def stop(self) -> None:
        await self._scope.stop()
        if self._changes is not None:
            await self._changes.close()
        if self.carrier is not None:
            self._ticker.remove(self.carrier)
            await self.carrier.stop()

    def routes(self, number: str) -> bool:
        return self.carrier is not None and self.carrier.routes(number)

    def dial(self, caller_id: str, number: str, listener: PhoneCallListener) -> PhoneCall:
        assert self.carrier is not None, "routes(number) first"
        return self.carrier.dial(caller_id, number, listener)

    async def _watch(self) -> None:
        assert self._changes is not None
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RELOAD_SECONDS):
                    await self._changes.get()
            try:
                revision, config = await self._routing.snapshot()
                if revision != self.revision:
                    await self._apply(revision, config)
            except Exception:  # a database blip must not end the watcher; the next round retries
                log.exception("reloading the SIP routing table failed")

    async def _apply(self, revision: int, config: SipConfiguration) -> None:
        routing = routing_from_configuration(config)
        if self.carrier is not None:
            await self.carrier.reconfigure(routing)
        elif routing.trunks:
            carrier = SipCarrier(
                routing, self._inbound, host=self._sip.host, port=self._sip.port, tls=self._tls()
            )
            await carrier.start()
            self.carrier = carrier
            self._ticker.add(carrier)
        self.revision = revision

    def _tls(self) -> tuple[int, ssl.SSLContext] | None:
        """Our SIP-over-TLS listener (``sip_tls_port``), with the certificate `serve` made for
        HTTPS, naming ``sip_host`` too; None: no listener (TLS trunks are still called)."""
        sip = self._sip
        if not sip.tls_port:
            return None
        material = ensure_tls_material(Path(sip.data_dir) / "tls", [sip.host])
        return sip.tls_port, server_ssl_context(material)


async def start_sip_routing(sip: SipConfig, database: Database, bus: Bus) -> SipRoutingService:
    """The routing table's service, with the config file's ``[[trunks]]`` / ``[[routes]]``
    applied (checked as the API checks them: a bad table stops the start, in one line)."""
    service = SipRoutingService(SqlSipRoutingStore(database), bus)
    try:
        await service.apply_file(configuration_from_tables(sip.trunks, sip.routes))
    except SipConfigurationError as exc:
        raise TrunkConfigError(str(exc)) from None
    return service
