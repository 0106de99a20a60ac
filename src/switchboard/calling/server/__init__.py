"""Server calls: calls an application's server owns and drives (Call Automation).

A server call is a conference on this node's SFU (call id ``server:<uuid>``) that the app
creates, rings users into (every device rings; one accepts with its own offer and joins as
with joinGroupCall), and controls: remove, mute, terminate, leave. The app's own media is an
in-process leg on the SFU (``MediaLegs``), not a listed participant.

    models.py      ServerCallParticipant, the events the app hears, end reasons
    invitation.py  Invitation: ringing one user's devices (sans-I/O)
    host.py        ServerCallHost: the owner's state; router messages about server calls
    calls.py       ServerCalls: the API (create, invite, …) with the app's legs
"""

from switchboard.calling.server.calls import ClosableLeg, MediaLegs, ServerCalls, new_server_call_id
from switchboard.calling.server.host import APP_PARTICIPANT_ID, ServerCallHost
from switchboard.calling.server.models import (
    InviteAccepted,
    InviteCanceled,
    InviteFailed,
    ParticipantRemoved,
    ParticipantsChanged,
    ServerCallEnded,
    ServerCallEvent,
    ServerCallListener,
    ServerCallParticipant,
)

__all__ = [
    "APP_PARTICIPANT_ID",
    "ClosableLeg",
    "InviteAccepted",
    "InviteCanceled",
    "InviteFailed",
    "MediaLegs",
    "ParticipantRemoved",
    "ParticipantsChanged",
    "ServerCallEnded",
    "ServerCallEvent",
    "ServerCallHost",
    "ServerCallListener",
    "ServerCallParticipant",
    "ServerCalls",
    "new_server_call_id",
]
