"""Push, as the composition root builds it: providers from the config's key files, the
service and its dispatcher, and what ties push to identity, calling and chat.

    [server] push_* ─▶ push/setup.py load_providers: each provider whose credentials are
        set (its files read and checked now: a bad one stops the start with one line)
    SqlRegistrationStore + SqlPushOutbox ─▶ PushService ─▶ PushDispatcher (every node)
    bus "identity.changed" ─▶ a deleted user's registrations are forgotten; expired ones hourly
    calling: CallPushRinger (push_ringer.py) · chat: ChatPushes (push_ringer.py)
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from prometheus_client import CollectorRegistry

from switchboard.bus.base import Bus, Subscription
from switchboard.core.clock import Clock
from switchboard.core.config import NodeConfig
from switchboard.core.errors import EndpointRefusedError
from switchboard.core.tasks import TaskScope
from switchboard.events.endpoints import EndpointGuard, EndpointPolicy
from switchboard.events.transport import delivery_client
from switchboard.identity.service import IDENTITY_CHANGED, IdentityService
from switchboard.push.dispatcher import DispatchSettings, PushDispatcher
from switchboard.push.models import PushKind
from switchboard.push.providers.base import PushProvider
from switchboard.push.providers.poster import AiohttpPoster
from switchboard.push.providers.webpush import WebPushProvider
from switchboard.push.service import PushService, PushSettings
from switchboard.push.setup import SEND_TIMEOUT_SECONDS, load_providers
from switchboard.push.store_sql import SqlPushOutbox, SqlRegistrationStore
from switchboard.storage.database import Database

log = logging.getLogger(__name__)

PRUNE_SECONDS = 3600.0


@dataclass
class PushParts:
    service: PushService
    dispatcher: PushDispatcher
    providers: Mapping[PushKind, PushProvider]
    vapid_public_key: str | None  # the applicationServerKey pages subscribe with


async def start_push(
    stack: contextlib.AsyncExitStack,
    config: NodeConfig,
    *,
    database: Database,
    bus: Bus,
    identity: IdentityService,
    clock: Clock,
    registry: CollectorRegistry | None = None,
) -> PushParts:
    policy = EndpointPolicy.for_mode(config.server.mode, config.push.allowed_endpoints)
    guard = EndpointGuard(policy)
    providers = load_providers(
        config.push,
        lambda: delivery_client(guard, timeout=SEND_TIMEOUT_SECONDS, connections=100),
        lambda: guarded_poster(guard, timeout=SEND_TIMEOUT_SECONDS, connections=100),
        clock,
    )
    for provider in providers.values():
        stack.push_async_callback(provider.close)
    registrations = SqlRegistrationStore(database)
    outbox = SqlPushOutbox(database)
    service = PushService(
        registrations,
        outbox,
        kinds=providers.keys(),
        clock=clock,
        check_url=guard.check_url,
        settings=PushSettings(registration_ttl_seconds=config.push.registration_ttl_hours * 3600),
        lease_seconds=config.push.lease_seconds,
    )
    dispatcher = PushDispatcher(
        outbox,
        registrations,
        providers,
        identity,
        clock=clock,
        settings=DispatchSettings(
            poll_seconds=config.push.poll_seconds,
            lease_seconds=config.push.lease_seconds,
            max_backoff_seconds=config.push.max_backoff_seconds,
        ),
        registry=registry,
    )
    await dispatcher.start()
    stack.push_async_callback(dispatcher.stop)
    service.dispatch = dispatcher
    forgetting = TaskScope("push: forgetting registrations")
    await forgetting.start()
    stack.push_async_callback(forgetting.stop)
    forgetting.spawn(_prune_expired(service), name="push: expired registrations")
    changes = await bus.subscribe(IDENTITY_CHANGED)
    stack.push_async_callback(changes.close)
    forgetting.spawn(_forget_deleted(changes, identity, service), name="push: deleted users")
    web = providers.get(PushKind.WEBPUSH)
    public_key = web.public_key if isinstance(web, WebPushProvider) else None
    if providers:
        log.info("push notifications through %s", ", ".join(k.value for k in providers))
    return PushParts(service, dispatcher, providers, public_key)


async def _prune_expired(push: PushService) -> None:
    """Registrations not refreshed in time are no target already; their rows go hourly."""
    while True:
        try:
            pruned = await push.prune()
            if pruned:
                log.info("push: %d expired registrations forgotten", pruned)
        except Exception:  # a database blip: the next round tries again
            log.exception("pruning expired push registrations failed")
        await asyncio.sleep(PRUNE_SECONDS)


async def _forget_deleted(
    changes: Subscription, identity: IdentityService, push: PushService
) -> None:
    async for raw in changes:
        user_id = raw.decode()
        try:
            if not await identity.is_live(user_id):
                await push.remove_user(user_id)
        except Exception:  # the dispatcher checks again before each push
            log.exception("forgetting the push registrations of a deleted user failed")


class GuardedResolver(AbstractResolver):
    """The SSRF guard (events/endpoints.py) on Web Push's aiohttp client
    (push/providers/poster.py): a name resolves only to addresses the guard approves (a
    refusal is a failed lookup: OSError); IP literals, which aiohttp never resolves, are
    checked by ``check_literal`` before each request."""

    def __init__(self, guard: EndpointGuard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await self._guard.addresses(host, port)
        except EndpointRefusedError as exc:
            raise OSError(exc.message) from exc
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None

    def check_literal(self, host: str) -> None:
        policy = self._guard.policy
        if policy.trusts_host(host):
            return
        reason = policy.refusal(ipaddress.ip_address(host.strip("[]")))
        if reason is not None:
            raise OSError(f"The endpoint host {host} is {reason}; production mode refuses it.")


def guarded_poster(guard: EndpointGuard, *, timeout: float, connections: int) -> AiohttpPoster:
    resolver = GuardedResolver(guard)
    return AiohttpPoster(
        timeout=timeout,
        connections=connections,
        resolver=resolver,
        check_host=resolver.check_literal,
    )
