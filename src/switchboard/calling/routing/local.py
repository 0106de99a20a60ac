"""LocalCallRouter: calling on one node. Every call and every device is here, so messages
are the objects themselves, handed to the service (no bus, no encoding)."""

from __future__ import annotations

import logging

from switchboard.calling.models import Deliver
from switchboard.calling.routing.messages import ForOwner, Invite
from switchboard.calling.routing.router import CallInbox

log = logging.getLogger(__name__)


class LocalCallRouter:
    def __init__(self, node_id: str) -> None:
        self._node_id = node_id
        self._inbox: CallInbox | None = None

    @property
    def node_id(self) -> str:
        return self._node_id

    async def start(self, inbox: CallInbox) -> None:
        self._inbox = inbox

    async def stop(self) -> None:
        self._inbox = None

    def to_owner(self, node: str, message: ForOwner) -> None:
        if self._inbox is None:
            return  # stopped: nothing is listening
        if node != self._node_id:  # cannot happen alone; a bug if it does
            log.error("dropping a calling message for node %s on a single node", node)
            return
        self._inbox.receive(message)

    def invite(self, invite: Invite) -> None:
        return None  # no other node to ring

    def deliver(self, output: Deliver) -> None:
        if self._inbox is not None:
            self._inbox.deliver_here(output.to.device_id, output.frame)
