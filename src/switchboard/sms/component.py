"""Wiring of sms/ for one node, from its config section and the carriers the numbers domain defines.

SmsComponent(sms config, store, numbers, carriers=factory, simulator=network)
  .start()
     ├─ one SmsCarrier per defined carrier, from the factory app.py passes:
     │     CarrierDefinition ─▶ SmsCarrier   (simulator ─▶ SimulatorCarrier, smpp ─▶ SmppCarrier)
     ├─ SmsService: the carriers' sink (inbound, receipts) and the API's service
     └─ one SmsSender per carrier (queue ─▶ carrier), woken when a message is queued
  .routes(authenticator) ─ /sms, opt-outs, delivery reports, the simulator's admin API

The factory may raise ConfigError (bad ``[[carriers]]`` settings): start() fails with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from starlette.routing import BaseRoute

from switchboard.core.clock import Clock
from switchboard.core.sections import SmsConfig
from switchboard.http.auth import Authenticator
from switchboard.numbers.models import CarrierDefinition
from switchboard.sms.carrier import SmsCarrier
from switchboard.sms.encoding import segment_count
from switchboard.sms.ratelimit import SendRateLimiter
from switchboard.sms.routes import simulator_routes, sms_routes
from switchboard.sms.sender import SmsSender
from switchboard.sms.service import NumberDirectory, SmsService
from switchboard.sms.simulator import SimulatorNetwork
from switchboard.sms.store import SmsStore

log = logging.getLogger(__name__)

CarrierFactory = Callable[[CarrierDefinition], SmsCarrier]
"""Builds the link for one defined carrier; raises ConfigError when its settings are unusable."""


class CarrierDirectory(NumberDirectory, Protocol):
    async def carriers(self) -> list[CarrierDefinition]: ...


class SmsComponent:
    def __init__(
        self,
        config: SmsConfig,
        store: SmsStore,
        numbers: CarrierDirectory,
        *,
        carriers: CarrierFactory,
        simulator: SimulatorNetwork,
        clock: Clock,
    ) -> None:
        self._config = config
        self._numbers = numbers
        self._carriers = carriers
        self._simulator = simulator
        self._clock = clock
        self.store = store
        self._senders: dict[str, SmsSender] = {}
        self.service = SmsService(
            store,
            numbers,
            clock=clock,
            on_queued=self._wake_sender,
            segments=segment_count,
        )

    async def _wake_sender(self, carrier: str) -> None:
        sender = self._senders.get(carrier)
        if sender is not None:
            sender.wake()

    def carrier_names(self) -> list[str]:
        """The carriers this node sends through (each has a sender)."""
        return list(self._senders)

    async def start(self) -> None:
        limiter = SendRateLimiter(
            self._config.rate_per_number_per_minute, burst=self._config.rate_burst
        )
        for definition in await self._numbers.carriers():
            carrier = self._carriers(definition)
            await carrier.start(self.service)
            sender = SmsSender(
                carrier,
                self.store,
                self.service,
                limiter,
                clock=self._clock,
                lease_seconds=self._config.lease_seconds,
                expiry_seconds=self._config.queue_expiry_hours * 3600,
            )
            await sender.start()
            self._senders[definition.name] = sender
        log.info("SMS carriers: %s", ", ".join(self._senders) or "none")

    async def stop(self) -> None:
        for sender in self._senders.values():
            await sender.stop()
            await sender.carrier.stop()
        self._senders.clear()

    def routes(self, authenticator: Authenticator) -> list[BaseRoute]:
        return [
            *sms_routes(self.service, authenticator),
            *simulator_routes(
                self._simulator.store,
                authenticator,
                wake=self._simulator.wake,
                clock=self._clock,
            ),
        ]
