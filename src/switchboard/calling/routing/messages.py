"""What crosses between nodes' calling: typed messages, tagged by ``k``.

    device on node B ──request──▶ node B ──"calling.node.A" Command──▶ node A (owns the call)
    node A ──"calling.invites" Invite (every node)──▶ nodes with the callee's devices
    node B ──"calling.node.A" Present──▶ node A: CallSession.device_present
    node B ──"calling.node.A" Lost──▶ node A: the device is gone for good
    node A ──"calling.node.B" FrameFor──▶ node B ──▶ the device's socket

A call's state lives on the node of its caller (a group call's: the node that placed it); a
device's socket on the node it connected to. Nothing here is stored: the bus is at-most-once,
so a lost message shows as a request that is never acked (the client times out) or a call
that rings out. On one node the same objects go straight to the service (routing/local.py).
"""

from __future__ import annotations

import msgspec

from switchboard.calling.models import DeviceAddress
from switchboard.calling.signaling.frames import ServerFrame
from switchboard.calling.signaling.protocol import EndReasonInfo
from switchboard.calling.signaling.requests import CallRequests, Join

INVITES = "calling.invites"


def node_topic(node_id: str) -> str:
    return f"calling.node.{node_id}"


class Routed(msgspec.Struct, kw_only=True, omit_defaults=True, tag_field="k"):
    call: str = ""


class Invite(Routed, kw_only=True, tag="invite"):
    """Ring the callee's devices on every node; they answer the owner with ``Present``."""

    owner: str
    user: str  # the callee


class Present(Routed, kw_only=True, tag="present"):
    """A node holds a device of the invited user (or it is busy)."""

    user: str
    node: str
    device: str
    busy: bool = False

    @property
    def address(self) -> DeviceAddress:
        return DeviceAddress(self.node, self.device)


class Command(Routed, kw_only=True, tag="cmd"):
    """A device's request about a call, for the call's owner."""

    user: str
    node: str
    device: str
    req: CallRequests | Join
    join_only: bool = False  # the device's token has voip.join, not voip

    @property
    def address(self) -> DeviceAddress:
        return DeviceAddress(self.node, self.device)


class Lost(Routed, kw_only=True, tag="lost"):
    """The device is gone for good (grace over, unregistered, token revoked)."""

    node: str
    device: str
    reason: EndReasonInfo

    @property
    def address(self) -> DeviceAddress:
        return DeviceAddress(self.node, self.device)


class FrameFor(Routed, kw_only=True, tag="frame"):
    """A server frame for a device whose socket is on the receiving node."""

    device: str
    frame: ServerFrame


ForOwner = Command | Present | Lost
NodeMessage = Invite | Present | Command | Lost | FrameFor

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(NodeMessage)


def encode(message: NodeMessage) -> bytes:
    return _encoder.encode(message)


def decode(raw: bytes) -> NodeMessage:
    return _decoder.decode(raw)
