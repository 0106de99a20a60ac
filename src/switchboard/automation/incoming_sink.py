"""IncomingCallOffers: calling's IncomingCallSink and UserCallApps, as IncomingCalls.offer.

    calling/pstn PendingCalls ─incoming_call(IncomingPhoneCall)─▶ IncomingOffer (identifiers:
        phoneNumber to and from) ─▶ IncomingCalls.offer ─▶ IncomingCall through the outbox
    calling/twoparty OfferedCalls ─wants_user_call(B, A)─▶ would the events component deliver
        IncomingCall {to: B, from: A}? (its filters, from memory) ─incoming_user_call─▶
        IncomingOffer (communicationUser to and from) ─▶ IncomingCalls.offer

The composition root builds calling's PendingCalls before the automation component (whose
IncomingCalls needs the call plane, which needs PendingCalls), so this adapter is given the
component's IncomingCalls once that has started (``bind``). A call that rings before then is
refused (the phone hears 503) — there is nobody to offer it to yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from switchboard.automation.event_schemas import incoming_call_event
from switchboard.automation.incoming import IncomingCalls
from switchboard.automation.models import IncomingOffer
from switchboard.calling.pstn.ports import IncomingPhoneCall
from switchboard.calling.twoparty.offered import IncomingUserCall
from switchboard.core.errors import ConflictError
from switchboard.core.identifiers import identifier_from_raw_id

# events' EventsComponent.would_deliver(type, subject, data)
WouldDeliver = Callable[[str, str, Mapping[str, Any]], bool]


class IncomingCallOffers:
    def __init__(self, would_deliver: WouldDeliver | None = None) -> None:
        self._incoming: IncomingCalls | None = None
        self._would_deliver = would_deliver

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

    def wants_user_call(self, callee: str, caller: str, caller_display_name: str) -> bool:
        """Whether a subscription would deliver IncomingCall for this call: the event as it
        would be, but for the ids chosen only once an app is offered it."""
        if self._incoming is None or self._would_deliver is None:
            return False
        probe = IncomingOffer(
            pending_id="",
            server_call_id="",
            to=identifier_from_raw_id(callee),
            caller=identifier_from_raw_id(caller),
            caller_display_name=caller_display_name,
            correlation_id="",
            owner_node="",
        )
        event = incoming_call_event(probe, "", 0.0)
        return self._would_deliver(event.type, event.subject, event.data)

    async def incoming_user_call(self, call: IncomingUserCall) -> None:
        if self._incoming is None:
            raise ConflictError("Call Automation is not running yet.")
        await self._incoming.offer(
            IncomingOffer(
                pending_id=call.pending_id,
                server_call_id=call.server_call_id,
                to=identifier_from_raw_id(call.callee),
                caller=identifier_from_raw_id(call.caller),
                caller_display_name=call.caller_display_name,
                correlation_id=call.correlation_id,
                owner_node=call.owner_node,
            )
        )
