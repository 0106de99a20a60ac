"""Who Call Automation may ring, and from which caller id (ACS's rules)."""

from __future__ import annotations

from switchboard.automation.models import SourceCallerIdError
from switchboard.automation.ports import CallerIdDirectory
from switchboard.core.errors import NotSupportedError
from switchboard.core.identifiers import CommunicationIdentifier, IdentifierKind


class TargetRules:
    def __init__(self, caller_ids: CallerIdDirectory) -> None:
        self._caller_ids = caller_ids

    async def check(self, target: CommunicationIdentifier, source_caller_id: str | None) -> None:
        """Users: always. Phone numbers: with a purchased caller id (and a voice carrier)."""
        if target.kind is IdentifierKind.COMMUNICATION_USER:
            return
        if target.kind is IdentifierKind.PHONE_NUMBER:
            if not source_caller_id:
                raise SourceCallerIdError(
                    "A call to a phone number needs sourceCallerIdNumber: a number you own."
                )
            if not await self._caller_ids.may_call_from(source_caller_id):
                raise SourceCallerIdError(
                    f"{source_caller_id} is not a purchased number with outbound calling."
                )
            raise NotSupportedError(
                "Calls to phone numbers need a voice carrier, which this server has not yet."
            )
        raise NotSupportedError(f"Targets of kind {target.kind.value} are not supported.")
