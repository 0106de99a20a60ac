"""BusCallRouter: calling across nodes over the bus (RedisBus); this node's own messages
still go straight to the service, as objects.

    to_owner(other node) ─encode─▶ publisher task (one, in order) ─▶ "calling.node.<id>"
    invite ─▶ "calling.invites" (every node; the owner ignores its own)
    "calling.node.<me>" / "calling.invites" ─decode─▶ CallInbox (frames: deliver_here)
"""

from __future__ import annotations

import asyncio
import logging

from switchboard.bus.base import Bus, Subscription
from switchboard.calling.models import Deliver
from switchboard.calling.routing.messages import (
    INVITES,
    ForOwner,
    FrameFor,
    Invite,
    NodeMessage,
    decode,
    encode,
    node_topic,
)
from switchboard.calling.routing.router import CallInbox
from switchboard.core.tasks import TaskScope

log = logging.getLogger(__name__)


class BusCallRouter:
    def __init__(self, bus: Bus, node_id: str) -> None:
        self._bus = bus
        self._node_id = node_id
        self._inbox: CallInbox | None = None
        self._outgoing: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._subscriptions: list[Subscription] = []
        self._tasks = TaskScope("calling bus router")

    @property
    def node_id(self) -> str:
        return self._node_id

    async def start(self, inbox: CallInbox) -> None:
        self._inbox = inbox
        mine = await self._bus.subscribe(node_topic(self._node_id))
        invites = await self._bus.subscribe(INVITES)
        self._subscriptions = [mine, invites]
        await self._tasks.start()
        self._tasks.spawn(self._listen(mine, inbox), name="calling node topic")
        self._tasks.spawn(self._listen(invites, inbox), name="calling invites")
        self._tasks.spawn(self._publish(), name="calling publisher")

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            await subscription.close()
        await self._tasks.stop()
        self._subscriptions, self._inbox = [], None

    def to_owner(self, node: str, message: ForOwner) -> None:
        if node == self._node_id:
            if self._inbox is not None:
                self._inbox.receive(message)
        else:
            self._send(node_topic(node), message)

    def invite(self, invite: Invite) -> None:
        self._send(INVITES, invite)

    def deliver(self, output: Deliver) -> None:
        if output.to.node == self._node_id:
            if self._inbox is not None:
                self._inbox.deliver_here(output.to.device_id, output.frame)
        else:
            frame = FrameFor(device=output.to.device_id, frame=output.frame)
            self._send(node_topic(output.to.node), frame)

    def _send(self, topic: str, message: NodeMessage) -> None:
        self._outgoing.put_nowait((topic, encode(message)))

    async def _publish(self) -> None:
        while True:
            topic, message = await self._outgoing.get()
            try:
                await self._bus.publish(topic, message)
            except Exception:  # at-most-once: the request times out or the call rings out
                log.exception("could not publish a calling message on %s", topic)

    async def _listen(self, subscription: Subscription, inbox: CallInbox) -> None:
        async for raw in subscription:
            try:
                message = decode(raw)
                if isinstance(message, FrameFor):
                    inbox.deliver_here(message.device, message.frame)
                elif not (isinstance(message, Invite) and message.owner == self._node_id):
                    inbox.receive(message)
            except Exception:  # one bad message must not stop the node's calling
                log.exception("dropping an undeliverable calling bus message")
