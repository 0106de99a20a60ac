"""How calling messages cross nodes: bus topics and envelopes.

    device on node B ──request──▶ node B ──"calling.node.A" {k:cmd}──▶ node A (owns the call)
    node A ──"calling.invites" {k:invite} (every node)──▶ nodes with the callee's devices
    node B ──"calling.node.A" {k:present}──▶ node A: CallSession.device_present
    node A ──"calling.node.B" {k:frame}──▶ node B ──▶ the device's socket

A call's state lives on the node of its caller; a device's socket on the node it connected
to. Nothing here is stored: the bus is at-most-once, so a lost envelope shows as a request
that is never acked (the client times out) or a call that rings out.
"""

from __future__ import annotations

from typing import Any

import msgspec

INVITES = "calling.invites"


def node_topic(node_id: str) -> str:
    return f"calling.node.{node_id}"


class Envelope(msgspec.Struct, omit_defaults=True):
    k: str  # invite | present | cmd | lost | frame
    call: str = ""
    owner: str = ""  # invite: the owning node
    user: str = ""  # invite: callee; present/cmd: the device's user
    node: str = ""  # present/cmd/lost: the device's node
    device: str = ""  # present/cmd/lost/frame: the device
    busy: bool = False  # present
    req: dict[str, Any] | None = None  # cmd: the client's request
    reason: dict[str, Any] | None = None  # lost: EndReason json
    frame: dict[str, Any] | None = None  # frame: the server frame for the device
    join_only: bool = False  # cmd: the device's token has voip.join, not voip


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Envelope)


def encode(envelope: Envelope) -> bytes:
    return _encoder.encode(envelope)


def decode(raw: bytes) -> Envelope:
    return _decoder.decode(raw)
