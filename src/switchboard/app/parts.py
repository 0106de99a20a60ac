"""The composition root's small choices: which bus, which SMS carrier link, which calling
router and placement, the signing keys, chat's rules (each from its config section)."""

from __future__ import annotations

import logging
import uuid

from switchboard.bus.base import Bus
from switchboard.bus.memory import MemoryBus
from switchboard.bus.redis import RedisBus
from switchboard.calling.component import CallingParts, calling_settings
from switchboard.calling.conference.placement import LocalPlacement, Placement, RedisPlacement
from switchboard.calling.routing.bus import BusCallRouter
from switchboard.calling.routing.local import LocalCallRouter
from switchboard.calling.routing.router import CallRouter
from switchboard.chat.models import ChatLimits
from switchboard.chat.rules import ChatRules
from switchboard.core.clock import Clock
from switchboard.core.config import NodeConfig
from switchboard.core.sections import AuthConfig, BusConfig, ChatConfig
from switchboard.gateways.smpp import SmppCarrier, SmppSettings
from switchboard.identity.keys import SigningKeyRing
from switchboard.identity.signing import sql_signing_key_ring
from switchboard.media.node import LocalMediaNode
from switchboard.numbers.models import CarrierDefinition, CarrierKind
from switchboard.sms.carrier import SmsCarrier
from switchboard.sms.component import CarrierFactory
from switchboard.sms.simulator import SimulatorNetwork
from switchboard.storage.database import Database

log = logging.getLogger(__name__)

MAINTENANCE_INTERVAL_SECONDS = 60.0


def signing_key_ring(database: Database, auth: AuthConfig, clock: Clock) -> SigningKeyRing:
    return sql_signing_key_ring(database, auth, clock)  # the same ring as `keys rotate`


def new_bus(config: BusConfig) -> Bus:
    """Redis when several nodes share the deployment, else the in-process bus."""
    if config.redis_url:
        return RedisBus(config.redis_url, config.redis_namespace)
    return MemoryBus()


def sms_carrier_factory(simulator: SimulatorNetwork, clock: Clock) -> CarrierFactory:
    """The link for each defined carrier; a bad SMPP table is a ConfigError at sms start."""

    def carrier(definition: CarrierDefinition) -> SmsCarrier:
        if definition.kind is CarrierKind.SIMULATOR:
            return simulator.carrier(definition.name)
        settings = SmppSettings.from_mapping(definition.settings)
        return SmppCarrier(definition.name, settings, clock=clock)

    return carrier


def calling_parts(config: NodeConfig, bus: Bus) -> CallingParts:
    """Calling's parts: with Redis, routing over the bus and call placement in Redis."""
    node_id = uuid.uuid4().hex[:12]
    router: CallRouter = LocalCallRouter(node_id)
    placement: Placement = LocalPlacement()
    if config.bus.redis_url:
        router = BusCallRouter(bus, node_id)
        placement = RedisPlacement(config.bus.redis_url, config.bus.redis_namespace)
    return CallingParts(
        calling_settings(config.calling, config.bus),
        router=router,
        media=LocalMediaNode(host=config.media.host, ports=config.media.ports),
        placement=placement,
    )


def chat_rules(config: ChatConfig) -> ChatRules:
    return ChatRules(
        ChatLimits(
            max_message_bytes=config.max_message_bytes,
            max_participants=config.max_participants,
            max_participants_per_add=config.max_participants_per_add,
            max_participants_for_receipts_and_typing=(
                config.max_participants_for_typing_and_receipts
            ),
        )
    )
