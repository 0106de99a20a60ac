"""Calling: 1:1 call signaling over a WebSocket (docs/calling-protocol.md) and its clients.

Server side: ``CallSession`` (sans-I/O state machine), ``CallingService`` (state on a node),
``CallingSignaling`` (the socket), ``CallingComponent`` (wiring). The Python client lives in
``switchboard.calling.client``.
"""

from switchboard.calling.component import CallingComponent
from switchboard.calling.models import CallPhase, CallState, EndReason, ParticipantState
from switchboard.calling.service import CallingService, CallingSettings
from switchboard.calling.session import CallSession, CallTimeouts

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
