"""Wiring of sms/ for one node, from its config section and the carriers the numbers domain defines.

SmsComponent(sms config, database, numbers, outbox)
  .start()
     ├─ one SmsCarrier per defined carrier: simulator ─▶ SimulatorCarrier
     │                                      smpp      ─▶ SmppCarrier (gateways/smpp)
     ├─ SmsService: the carriers' sink (inbound, receipts) and the API's service
     └─ one SmsSender per carrier (queue ─▶ carrier), woken when a message is queued
  .routes(authenticator) ─ /sms, opt-outs, delivery reports, the simulator's admin API
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from starlette.routing import BaseRoute

from switchboard.core.sections import ConfigError, SmsConfig
from switchboard.events.outbox import EventOutbox
from switchboard.gateways.smpp.carrier import SmppCarrier
from switchboard.gateways.smpp.settings import SmppSettings
from switchboard.http.auth import Authenticator
from switchboard.numbers.models import CarrierDefinition, CarrierKind
from switchboard.sms.carrier import SmsCarrier
from switchboard.sms.encoding import segment_count
from switchboard.sms.eventgrid import EventCasing
from switchboard.sms.ratelimit import SendRateLimiter
from switchboard.sms.routes import simulator_routes, sms_routes
from switchboard.sms.sender import SmsSender
from switchboard.sms.service import NumberDirectory, SmsService
from switchboard.sms.simstore import SimulatorStore
from switchboard.sms.simulator import SimulatorCarrier
from switchboard.sms.store import SqlSmsStore
from switchboard.storage.database import Database

log = logging.getLogger(__name__)


class CarrierDirectory(NumberDirectory, Protocol):
    async def carriers(self) -> list[CarrierDefinition]: ...


class SmsComponent:
    def __init__(
        self,
        config: SmsConfig,
        database: Database,
        numbers: CarrierDirectory,
        outbox: EventOutbox,
        *,
        clock: Callable[[], float],
    ) -> None:
        try:
            casing = EventCasing(config.event_casing.lower())
        except ValueError:
            raise ConfigError(
                f"sms_event_casing must be 'pascal' or 'camel', not {config.event_casing!r}."
            ) from None
        self._config = config
        self._numbers = numbers
        self._clock = clock
        self.store = SqlSmsStore(database)
        self.simulator_store = SimulatorStore(database)
        self._senders: dict[str, SmsSender] = {}
        self._simulators: list[SimulatorCarrier] = []
        self.service = SmsService(
            self.store,
            numbers,
            outbox,
            clock=clock,
            casing=casing,
            on_queued=self._wake_sender,
            segments=segment_count,
        )

    async def _wake_sender(self, carrier: str) -> None:
        sender = self._senders.get(carrier)
        if sender is not None:
            sender.wake()

    def _carrier(self, definition: CarrierDefinition) -> SmsCarrier:
        if definition.kind is CarrierKind.SIMULATOR:
            simulator = SimulatorCarrier(
                definition.name, self.simulator_store, clock=self._clock, segments=segment_count
            )
            self._simulators.append(simulator)
            return simulator
        return SmppCarrier(definition.name, SmppSettings.from_mapping(definition.settings))

    async def start(self) -> None:
        limiter = SendRateLimiter(
            self._config.rate_per_number_per_minute, burst=self._config.rate_burst
        )
        for definition in await self._numbers.carriers():
            carrier = self._carrier(definition)
            await carrier.start(self.service)
            sender = SmsSender(
                carrier,
                self.store,
                self.service,
                limiter,
                clock=self._clock,
                expiry_seconds=self._config.queue_expiry_hours * 3600,
            )
            sender.start()
            self._senders[definition.name] = sender
        log.info("SMS carriers: %s", ", ".join(self._senders) or "none")

    async def stop(self) -> None:
        for sender in self._senders.values():
            await sender.stop()
            await sender.carrier.stop()
        self._senders.clear()

    def _wake_simulators(self) -> None:
        for simulator in self._simulators:
            simulator.wake()

    def routes(self, authenticator: Authenticator) -> list[BaseRoute]:
        return [
            *sms_routes(self.service, authenticator),
            *simulator_routes(
                self.simulator_store,
                authenticator,
                wake=self._wake_simulators,
                clock=self._clock,
            ),
        ]
