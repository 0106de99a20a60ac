"""IncomingCallOffers: calling's IncomingCallSink, as automation's IncomingCalls.offer.

    calling/pstn PendingCalls ─incoming_call(IncomingPhoneCall)─▶ IncomingOffer (identifiers:
        phoneNumber to and from) ─▶ IncomingCalls.offer ─▶ IncomingCall through the outbox

The composition root builds calling's PendingCalls before the automation component (whose
IncomingCalls needs the call plane, which needs PendingCalls), so this adapter is given the
component's IncomingCalls once that has started (``bind``). A call that rings before then is
refused (the phone hears 503) — there is nobody to offer it to yet.
"""

from __future__ import annotations

from switchboard.automation.incoming import IncomingCalls
from switchboard.automation.models import IncomingOffer
from switchboard.calling.pstn.ports import IncomingPhoneCall
from switchboard.core.errors import ConflictError
from switchboard.core.identifiers import identifier_from_raw_id


class IncomingCallOffers:
    def __init__(self) -> None:
        self._incoming: IncomingCalls | None = None

    def bind(self, incoming: IncomingCalls) -> None:
        self._incoming = incoming

    async def incoming_call(self, call: IncomingPhoneCall) -> None:
        if self._incoming is None:
            raise ConflictError("Call Automation is not running yet.")
        await self._incoming.offer(
            IncomingOffer(
                pending_id=call.pending_id,
                server_call_id=call.server_call_id,
                to=identifier_from_raw_id(f"4:{call.called}"),
                caller=identifier_from_raw_id(f"4:{call.caller}"),
                caller_display_name="",
                correlation_id=call.correlation_id,
                owner_node=call.owner_node,
            )
        )
