"""The moveParticipants route (``participants:moveHere``, CallAutomation.json
CallConnection_MoveParticipants): 202 with the call's participants; the outcome per
participant is MoveParticipantSucceeded / MoveParticipantFailed (automation/move_ops.py)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from switchboard.automation import control_ops as ops
from switchboard.automation import schemas
from switchboard.automation.control import AutomationControl
from switchboard.core.principal import Principal
from switchboard.http.apiversion import CALL_AUTOMATION_VERSIONS
from switchboard.http.auth import Authenticator
from switchboard.http.json import decode_json, json_response, read_body
from switchboard.http.repeatability import Repeatability
from switchboard.http.routing import Auth, routes_for

MOVE_HERE = "/calling/callConnections/{callConnectionId}/participants:moveHere"


class MoveParticipantsRequest(msgspec.Struct, rename="camel"):
    target_participants: list[schemas.Identifier]
    from_call: str
    operation_context: str | None = None
    operation_callback_uri: str | None = None


def move_routes(
    control: AutomationControl, authenticator: Authenticator, repeatability: Repeatability
) -> list[BaseRoute]:
    async def move_here(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), MoveParticipantsRequest)

        async def run() -> Response:
            targets = tuple(
                schemas.identifier(t, "targetParticipants").raw_id for t in body.target_participants
            )
            now_in = await control.move_participants(
                ops.MoveOp(
                    request.path_params["callConnectionId"],
                    targets,
                    body.from_call,
                    operation_context=body.operation_context,
                    operation_callback_uri=body.operation_callback_uri,
                )
            )
            answer: dict[str, Any] = {
                "participants": [schemas.participant_json(p) for p in now_in],
                "operationContext": body.operation_context,
                "fromCall": body.from_call,
            }
            return json_response(answer, 202)

        return await repeatability.run(request, "automation.move", run)

    acs = routes_for(auth=Auth.HMAC, authenticator=authenticator, versions=CALL_AUTOMATION_VERSIONS)
    return [acs(MOVE_HERE, move_here, "POST")]
