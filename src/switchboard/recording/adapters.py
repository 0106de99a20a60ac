"""Recording's ports over the node's other domains: calling's conferences (which calls run
here, who a media participant is) and Call Automation's call connections."""

from __future__ import annotations

from switchboard.automation.models import CallConnectionEndedError
from switchboard.automation.service import CallAutomationService
from switchboard.calling.conference.host import ConferenceHost
from switchboard.core.errors import NotFoundError
from switchboard.recording.ports import ConnectedCall


class ConferenceDirectory:
    """Calls are conferences on this node's SFU; a media participant is a member."""

    def __init__(self, conferences: ConferenceHost) -> None:
        self._conferences = conferences

    def runs_here(self, call_id: str) -> bool:
        return self._conferences.get(call_id) is not None

    def raw_id(self, call_id: str, participant_id: str) -> str | None:
        conference = self._conferences.get(call_id)
        if conference is None:
            return None
        member = conference.group.members.get(participant_id)
        return None if member is None else member.user_id


class CallNotHereError(NotFoundError):
    code = "CallNotReachable"


class AutomationConnections:
    def __init__(self, service: CallAutomationService) -> None:
        self._service = service

    async def call_of(self, call_connection_id: str) -> ConnectedCall:
        owner = await self._service.owner_of(call_connection_id)
        call = await self._service.get(call_connection_id)
        if call.is_over:
            raise CallConnectionEndedError(f"Call connection {call_connection_id} has ended.")
        if owner != self._service.node_id:
            raise CallNotHereError(
                f"Call connection {call_connection_id} runs on another node; recording it "
                "from there is not supported yet."
            )
        return ConnectedCall(call.server_call_id, call_connection_id, call.correlation_id)
