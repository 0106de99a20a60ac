"""Calling: 1:1, group and Room call signaling over a WebSocket (docs/calling-protocol.md).

    signaling/   the device side: protocol, requests, frames (typed wire frames, shared with
                 the Python client), endpoint (the socket), hub (local devices, seq, replay),
                 registration
    routing/     CallRouter: reach a call's owner node and a device's node; local (one node,
                 objects passed directly) or bus (several nodes); messages (what crosses)
    twoparty/    session (CallSession, sans-I/O 1:1 state machine), calls (TwoPartyCalls)
    conference/  group and Room calls on the SFU: host, conference, group (sans-I/O rules),
                 admission, media, events, placement (which node owns a call)
    server/      server calls (Call Automation): ServerCalls (the app's API), ServerCallHost
                 (the owner's state), Invitation (ringing a user, sans-I/O), the events
    service.py   CallingService: calling state on a node (the router's inbox)
    component.py CallingComponent: the running parts, from what app.py picked
    models.py, errors.py, lifecycle.py, eventgrid.py: shared by all of the above

The Python client lives in ``switchboard.client.calling``.
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
