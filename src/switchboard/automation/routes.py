"""Call Automation HTTP routes (acs-wire-reference §7), HMAC-authenticated.

Control requests are acknowledgements; outcomes reach the app as callbacks. Requests the SDK
marks repeatable (createCall, add/remove participant, …) replay their first answer when
retried with the same Repeatability-Request-ID.
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from switchboard.automation import control_ops as ops
from switchboard.automation import schemas
from switchboard.automation.control import AutomationControl
from switchboard.automation.streaming.schemas import streaming_options, transcription_options
from switchboard.core.principal import Principal
from switchboard.http.apiversion import CALL_AUTOMATION_VERSIONS
from switchboard.http.auth import Authenticator
from switchboard.http.json import decode_json, empty_response, json_response, read_body
from switchboard.http.repeatability import Repeatability
from switchboard.http.routing import Auth, routes_for

BASE = "/calling/callConnections"


def automation_routes(
    control: AutomationControl, authenticator: Authenticator, repeatability: Repeatability
) -> list[BaseRoute]:
    service = control.service  # creating and reading: any node; controlling: the owner's

    async def create_call(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.CreateCallRequest)

        async def create() -> Response:
            call = await service.create_call(
                [schemas.identifier(t, "targets") for t in body.targets],
                body.callback_uri,
                source=None if body.source is None else schemas.identifier(body.source, "source"),
                source_caller_id=schemas.phone(body.source_caller_id_number),
                source_display_name=body.source_display_name,
                operation_context=body.operation_context,
                media_streaming=streaming_options(body.media_streaming_options),
                transcription=transcription_options(body.transcription_options),
            )
            return json_response(schemas.call_connection_json(call), 201)

        return await repeatability.run(request, "automation.create", create)

    async def connect(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.ConnectRequest)

        async def run() -> Response:
            call = await service.connect(
                schemas.locator(body.call_locator),
                body.callback_uri,
                operation_context=body.operation_context,
                media_streaming=streaming_options(body.media_streaming_options),
                transcription=transcription_options(body.transcription_options),
            )
            return json_response(schemas.call_connection_json(call), 200)

        return await repeatability.run(request, "automation.connect", run)

    async def answer(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.AnswerCallRequest)

        async def run() -> Response:
            call = await control.answer(
                ops.AnswerOp(
                    "",
                    body.incoming_call_context,
                    body.callback_uri,
                    operation_context=body.operation_context,
                    media_streaming=streaming_options(body.media_streaming_options),
                    transcription=transcription_options(body.transcription_options),
                )
            )
            return json_response(schemas.call_connection_json(call), 200)

        return await repeatability.run(request, "automation.answer", run)

    async def reject(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.RejectCallRequest)

        async def run() -> Response:
            await control.reject(
                ops.RejectOp("", body.incoming_call_context, body.call_reject_reason)
            )
            return empty_response(204)

        return await repeatability.run(request, "automation.reject", run)

    async def redirect(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.RedirectCallRequest)

        async def run() -> Response:
            target = schemas.identifier(body.target, "target")
            await control.redirect(ops.RedirectOp("", body.incoming_call_context, target.raw_id))
            return empty_response(204)

        return await repeatability.run(request, "automation.redirect", run)

    async def get_call(request: Request, _: Principal) -> Response:
        call = await service.get(request.path_params["callConnectionId"])
        return json_response(schemas.call_connection_json(call))

    async def hang_up(request: Request, _: Principal) -> Response:
        await control.hang_up(request.path_params["callConnectionId"])
        return empty_response(204)

    async def terminate(request: Request, _: Principal) -> Response:
        async def run() -> Response:
            await control.terminate(request.path_params["callConnectionId"])
            return empty_response(204)

        return await repeatability.run(request, "automation.terminate", run)

    async def transfer(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.TransferToParticipantRequest)

        async def run() -> Response:
            target = schemas.identifier(body.target_participant, "targetParticipant")
            moved = body.transferee
            transferee = None if moved is None else schemas.identifier(moved, "transferee")
            await control.transfer(
                ops.Transfer(
                    request.path_params["callConnectionId"],
                    target.raw_id,
                    None if transferee is None else transferee.raw_id,
                    operation_context=body.operation_context,
                    operation_callback_uri=body.operation_callback_uri,
                    source_caller_id=schemas.phone(body.source_caller_id_number),
                )
            )
            return json_response({"operationContext": body.operation_context}, 202)

        return await repeatability.run(request, "automation.transfer", run)

    async def list_participants(request: Request, _: Principal) -> Response:
        found = await control.participants(request.path_params["callConnectionId"])
        return json_response({"value": [schemas.participant_json(p) for p in found]})

    async def get_participant(request: Request, _: Principal) -> Response:
        # The async SDK sends the raw id half-encoded (4:%2B1425…): decode what is left.
        raw_id = unquote(request.path_params["participantRawId"])
        found = await control.participant(request.path_params["callConnectionId"], raw_id)
        return json_response(schemas.participant_json(found))

    async def add_participant(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.AddParticipantRequest)

        async def run() -> Response:
            target = schemas.identifier(body.participant_to_add, "participantToAdd")
            added = await control.add_participant(
                ops.AddParticipant(
                    request.path_params["callConnectionId"],
                    target.raw_id,
                    operation_context=body.operation_context,
                    operation_callback_uri=body.operation_callback_uri,
                    invitation_timeout_seconds=body.invitation_timeout_in_seconds,
                    source_caller_id=schemas.phone(body.source_caller_id_number),
                )
            )
            return json_response(schemas.added_json(added), 202)

        return await repeatability.run(request, "automation.add", run)

    async def remove_participant(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.RemoveParticipantRequest)

        async def run() -> Response:
            target = schemas.identifier(body.participant_to_remove, "participantToRemove")
            await control.remove_participant(
                ops.RemoveParticipant(
                    request.path_params["callConnectionId"],
                    target.raw_id,
                    operation_context=body.operation_context,
                    operation_callback_uri=body.operation_callback_uri,
                )
            )
            return json_response({"operationContext": body.operation_context}, 202)

        return await repeatability.run(request, "automation.remove", run)

    async def mute(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.MuteParticipantsRequest)

        async def run() -> Response:
            raw_ids = [
                schemas.identifier(t, "targetParticipants").raw_id for t in body.target_participants
            ]
            await control.mute(request.path_params["callConnectionId"], tuple(raw_ids))
            return json_response({"operationContext": body.operation_context}, 200)

        return await repeatability.run(request, "automation.mute", run)

    async def cancel_add(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.CancelAddParticipantRequest)

        async def run() -> Response:
            await control.cancel_add_participant(
                ops.CancelAdd(
                    request.path_params["callConnectionId"],
                    body.invitation_id,
                    operation_context=body.operation_context,
                    operation_callback_uri=body.operation_callback_uri,
                )
            )
            answer = schemas.cancel_add_json(body.invitation_id, body.operation_context)
            return json_response(answer, 202)

        return await repeatability.run(request, "automation.cancel-add", run)

    acs = routes_for(auth=Auth.HMAC, authenticator=authenticator, versions=CALL_AUTOMATION_VERSIONS)
    one = BASE + "/{callConnectionId}"
    # Action routes (``{id}:terminate``) before ``{id}``: a path parameter would take the colon.
    return [
        acs(BASE, create_call, "POST"),
        acs(BASE + ":connect", connect, "POST"),
        acs(BASE + ":answer", answer, "POST"),
        acs(BASE + ":reject", reject, "POST"),
        acs(BASE + ":redirect", redirect, "POST"),
        acs(one + ":terminate", terminate, "POST"),
        acs(one + ":transferToParticipant", transfer, "POST"),
        acs(one + "/participants", list_participants, "GET"),
        acs(one + "/participants:add", add_participant, "POST"),
        acs(one + "/participants:remove", remove_participant, "POST"),
        acs(one + "/participants:mute", mute, "POST"),
        acs(one + "/participants:cancelAddParticipant", cancel_add, "POST"),
        acs(one + "/participants/{participantRawId}", get_participant, "GET"),
        acs(one, get_call, "GET"),
        acs(one, hang_up, "DELETE"),
    ]
