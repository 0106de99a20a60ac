"""Calling: 1:1, group and Room call signaling over a WebSocket (docs/calling-protocol.md).

Server side: ``CallSession`` (sans-I/O 1:1 state machine) in ``TwoPartyCalls``, ``GroupCall``
(sans-I/O group rules) in a ``Conference`` per group/Room call (media on the SFU, see
docs/media.md), ``DeviceRegistry`` (devices), ``CallingService`` (state on a node, routing to
each call's owner), ``CallingSignaling`` (the socket), ``CallingComponent`` (wiring). The
Python client lives in ``switchboard.client.calling``.
"""

from switchboard.calling.component import CallingComponent
from switchboard.calling.models import CallPhase, CallState, EndReason, ParticipantState
from switchboard.calling.service import CallingService, CallingSettings
from switchboard.calling.twoparty.session import CallSession, CallTimeouts

__all__ = [
    "CallPhase",
    "CallSession",
    "CallState",
    "CallTimeouts",
    "CallingComponent",
    "CallingService",
    "CallingSettings",
    "EndReason",
    "ParticipantState",
]
