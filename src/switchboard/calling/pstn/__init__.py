"""Phone calls in server calls (PSTN): a voice carrier's calls as members of server calls.

    ports.py     VoiceCarrier (dial), PhoneCall / InboundPhoneCall (a carrier's call),
                 PhoneCallListener, InboundCallHandler, IncomingCallSink; end reasons
    dialing.py   PhoneDialer: a server call's invitation to a number ─▶ carrier.dial ─▶
                 answered: the phone's leg joins the conference (a member with no device)
    pending.py   PendingCalls: a carrier's call to a purchased number rings as a pending server
                 call ─▶ IncomingCallSink ─▶ answer (with the app's leg) / reject / redirect

calling knows no carrier: app.py gives a VoiceCarrier (today the simulator's virtual phones,
gateways/voicesim/; later SIP trunks) and hands this package's PendingCalls to it as its
InboundCallHandler.
"""

from switchboard.calling.pstn.dialing import PhoneDialer
from switchboard.calling.pstn.pending import PendingCalls
from switchboard.calling.pstn.ports import (
    NO_ANSWER,
    NOT_IN_SERVICE,
    InboundCallHandler,
    InboundPhoneCall,
    IncomingCallSink,
    IncomingPhoneCall,
    PhoneCall,
    PhoneCallListener,
    PhoneNumbers,
    VoiceCarrier,
)

__all__ = [
    "NOT_IN_SERVICE",
    "NO_ANSWER",
    "InboundCallHandler",
    "InboundPhoneCall",
    "IncomingCallSink",
    "IncomingPhoneCall",
    "PendingCalls",
    "PhoneCall",
    "PhoneCallListener",
    "PhoneDialer",
    "PhoneNumbers",
    "VoiceCarrier",
]
