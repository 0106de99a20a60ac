"""Who Call Automation may ring, and from which caller id (ACS's rules)."""

from __future__ import annotations

from switchboard.automation.models import SourceCallerIdError
from switchboard.automation.ports import CallerIdDirectory
from switchboard.core.errors import NotSupportedError
from switchboard.core.identifiers import CommunicationIdentifier, IdentifierKind


class TargetRules:
    def __init__(self, caller_ids: CallerIdDirectory, *, dials_phones: bool = False) -> None:
        self._caller_ids = caller_ids
        self._dials_phones = dials_phones  # the node has a voice carrier

    async def check(self, target: CommunicationIdentifier, source_caller_id: str | None) -> None:
        """Users: always. Phone numbers: with a purchased caller id (and a voice carrier).
        ``source_caller_id`` None with a phone target: a redirect (the caller's own number)."""
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
            if not self._dials_phones:
                raise NotSupportedError(
                    "Calls to phone numbers need a voice carrier, which this server has not."
                )
            return
        raise NotSupportedError(f"Targets of kind {target.kind.value} are not supported.")
