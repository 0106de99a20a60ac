"""CallRouter: how calling reaches a call's owner node and a device's node.

    TwoPartyCalls / ConferenceHost / DeviceRegistry ─to_owner(node, Command|Present|Lost)─▶
        this node: CallInbox.receive(message) (the object itself, no encoding)
        another node: over the bus (routing/bus.py)
    ─deliver(Deliver)─▶ this node: CallInbox.deliver_here · another node: FrameFor over the bus
    ─invite(Invite)──▶ every other node (none on a single node)

The service is the inbox; app.py picks the router (local alone, bus with Redis).
"""

from __future__ import annotations

from typing import Protocol

from switchboard.calling.models import Deliver
from switchboard.calling.routing.messages import ForOwner, Invite
from switchboard.calling.signaling.frames import ServerFrame


class CallInbox(Protocol):
    """What a node's calling does with what is routed to it (CallingService)."""

    def receive(self, message: ForOwner | Invite) -> None:
        """A command, presence or loss for a call this node owns; an invite to ring here."""
        ...

    def deliver_here(self, device_id: str, frame: ServerFrame) -> None:
        """A frame for a device whose socket is on this node."""
        ...


class CallRouter(Protocol):
    @property
    def node_id(self) -> str: ...

    async def start(self, inbox: CallInbox) -> None: ...

    async def stop(self) -> None: ...

    def to_owner(self, node: str, message: ForOwner) -> None:
        """A message for ``node``'s calling; never blocks (sends are queued, in order)."""
        ...

    def invite(self, invite: Invite) -> None:
        """Ask every other node to ring the callee's devices it holds."""
        ...

    def deliver(self, output: Deliver) -> None:
        """A frame to a device, on whichever node holds its socket."""
        ...
