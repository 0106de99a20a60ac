"""AutomationComponent: Call Automation's running parts on one node, from what app.py picked.

AutomationComponent.start(AutomationParts) ─▶ CallAutomationService (store, call plane,
    callbacks, caller ids, callback URI guard) ─▶ AutomationControl (bus: requests reach the
    owner node) ─▶ a purge of long-ended call records ─▶ a started component
routes(authenticator, repeatability) ─▶ /calling/callConnections…
stop() ─▶ purge ─▶ control ─▶ service (its event worker)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from starlette.routing import BaseRoute

from switchboard.automation.control import AutomationControl
from switchboard.automation.incoming import (
    IncomingCallContexts,
    IncomingCalls,
    IncomingEventPublisher,
)
from switchboard.automation.media_routes import media_routes
from switchboard.automation.move_routes import move_routes
from switchboard.automation.ports import CallbackSink, CallerIdDirectory, CallPlane, UrlGuard
from switchboard.automation.routes import automation_routes
from switchboard.automation.service import CallAutomationService
from switchboard.automation.store import CallConnectionStore
from switchboard.automation.streaming.sessions import StreamingEngines
from switchboard.automation.targets import TargetRules
from switchboard.bus.base import Bus
from switchboard.core.clock import Clock
from switchboard.core.tasks import TaskScope
from switchboard.http.auth import Authenticator
from switchboard.http.repeatability import Repeatability

log = logging.getLogger(__name__)

KEEP_ENDED_SECONDS = 24 * 3600.0  # GET still answers "disconnected" for a day
PURGE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class AutomationParts:
    store: CallConnectionStore
    plane: CallPlane
    callbacks: CallbackSink
    caller_ids: CallerIdDirectory
    guard: UrlGuard
    publisher: IncomingEventPublisher  # IncomingCall events (the events outbox)
    incoming_secret: bytes  # signs incomingCallContext; the same on every node
    bus: Bus
    clock: Clock
    node_id: str
    dials_phones: bool = False  # a voice carrier: phone numbers may be called
    streaming: StreamingEngines | None = None  # media streaming and transcription


class AutomationComponent:
    def __init__(
        self, control: AutomationControl, parts: AutomationParts, stack: contextlib.AsyncExitStack
    ) -> None:
        self.control = control
        self.service = control.service
        self.incoming = control.incoming
        self._parts = parts
        self._stack = stack

    @classmethod
    async def start(cls, parts: AutomationParts) -> AutomationComponent:
        async with contextlib.AsyncExitStack() as stack:
            service = CallAutomationService(
                parts.plane,
                parts.callbacks,
                parts.caller_ids,
                parts.guard,
                parts.store,
                parts.clock,
                node_id=parts.node_id,
                dials_phones=parts.dials_phones,
                streaming=parts.streaming,
            )
            await service.start()
            stack.push_async_callback(service.stop)
            incoming = IncomingCalls(
                IncomingCallContexts(parts.incoming_secret, parts.clock),
                parts.publisher,
                parts.plane,
                TargetRules(parts.caller_ids, dials_phones=parts.dials_phones),
                parts.clock,
            )
            control = AutomationControl(service, incoming, parts.bus)
            await control.start()
            stack.push_async_callback(control.stop)
            upkeep = TaskScope("automation upkeep")
            await upkeep.start()
            stack.push_async_callback(upkeep.stop)
            component = cls(control, parts, stack.pop_all())
            upkeep.spawn(component._purge_forever(), name="automation purge")
            return component
        raise AssertionError("unreachable")  # the stack either returned or raised

    def routes(self, authenticator: Authenticator, repeatability: Repeatability) -> list[BaseRoute]:
        return [
            *automation_routes(self.control, authenticator, repeatability),
            *media_routes(self.control, authenticator, repeatability),
            *move_routes(self.control, authenticator, repeatability),
        ]

    async def stop(self) -> None:
        await self._stack.aclose()

    async def _purge_forever(self) -> None:
        while True:
            await asyncio.sleep(PURGE_EVERY_SECONDS)
            cutoff_ms = int((self._parts.clock.now() - KEEP_ENDED_SECONDS) * 1000)
            try:
                purged = await self._parts.store.purge_ended(cutoff_ms)
            except Exception:  # the next round tries again
                log.exception("automation: purging ended call connections failed")
                continue
            if purged:
                log.info("automation: forgot %d call connections ended a day ago", purged)
