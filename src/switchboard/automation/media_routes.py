"""Call Automation media routes: play, recognize, DTMF, hold, media streaming and
transcription (acs-wire-reference §7).

Each answers at once (202, or 200 where ACS does); the outcome is a callback. What needs
Azure AI (summarizeCall, custom voices and speech models) is refused with a 400 the SDK does
not retry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from switchboard.automation import control_ops as ops
from switchboard.automation import media_schemas as schemas
from switchboard.automation.control import AutomationControl
from switchboard.automation.models import AzureAiRequiredError
from switchboard.automation.streaming.models import StreamingAction
from switchboard.core.principal import Principal
from switchboard.http.apiversion import CALL_AUTOMATION_VERSIONS
from switchboard.http.auth import Authenticator
from switchboard.http.json import decode_json, empty_response, json_response, read_body
from switchboard.http.repeatability import Repeatability
from switchboard.http.routing import Auth, routes_for

ONE = "/calling/callConnections/{callConnectionId}"


def media_routes(
    control: AutomationControl, authenticator: Authenticator, repeatability: Repeatability
) -> list[BaseRoute]:
    async def play(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.PlayRequest)
        options = body.play_options or schemas.PlayOptionsJson()
        await control.media(
            ops.PlayOp(
                request.path_params["callConnectionId"],
                tuple(schemas.play_sources(body.play_sources, "playSources")),
                play_to=tuple(schemas.raw_ids(body.play_to, "playTo")),
                loop=options.loop,
                interrupt=bool(body.interrupt_call_media_operation),
                operation_context=body.operation_context,
                operation_callback_uri=body.operation_callback_uri,
            )
        )
        return empty_response(202)

    async def recognize(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.RecognizeRequest)
        await control.media(
            ops.RecognizeOp(
                request.path_params["callConnectionId"],
                schemas.recognize(body),
                operation_context=body.operation_context,
                operation_callback_uri=body.operation_callback_uri,
            )
        )
        return empty_response(202)

    async def cancel_all(request: Request, _: Principal) -> Response:
        await control.media(ops.CancelAllOp(request.path_params["callConnectionId"]))
        return empty_response(202)

    def continuous_dtmf(start: bool) -> Callable[[Request, Principal], Awaitable[Response]]:
        async def handle(request: Request, _: Principal) -> Response:
            body = decode_json(await read_body(request), schemas.TargetRequest)
            await control.media(
                ops.ContinuousDtmfOp(
                    request.path_params["callConnectionId"],
                    schemas.raw_ids([body.target_participant], "targetParticipant")[0],
                    start,
                    operation_context=body.operation_context,
                    operation_callback_uri=body.operation_callback_uri,
                )
            )
            return empty_response(200)

        return handle

    async def send_dtmf(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.SendDtmfTonesRequest)

        async def run() -> Response:
            await control.media(
                ops.SendDtmfOp(
                    request.path_params["callConnectionId"],
                    tuple(schemas.tone(t, "tones") for t in body.tones),
                    schemas.raw_ids([body.target_participant], "targetParticipant")[0],
                    operation_context=body.operation_context,
                    operation_callback_uri=body.operation_callback_uri,
                )
            )
            return json_response({"operationContext": body.operation_context}, 202)

        return await repeatability.run(request, "automation.send-dtmf", run)

    async def hold(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.HoldRequest)
        music = body.play_source_info
        await control.media(
            ops.HoldOp(
                request.path_params["callConnectionId"],
                schemas.raw_ids([body.target_participant], "targetParticipant")[0],
                True,
                None if music is None else schemas.play_source(music, "playSourceInfo"),
            )
        )
        return empty_response(200)

    async def unhold(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.TargetRequest)
        target = schemas.raw_ids([body.target_participant], "targetParticipant")[0]
        await control.media(ops.HoldOp(request.path_params["callConnectionId"], target, False))
        return empty_response(200)

    async def summarize(request: Request, _: Principal) -> Response:
        raise AzureAiRequiredError("Call summaries need Azure AI services.")

    def streaming(action: StreamingAction) -> Callable[[Request, Principal], Awaitable[Response]]:
        async def handle(request: Request, _: Principal) -> Response:
            body = decode_json(await read_body(request), schemas.StreamingRequest)
            if body.speech_model_endpoint_id:
                raise AzureAiRequiredError(
                    "Custom speech models need Azure AI Speech.", target="speechModelEndpointId"
                )
            await control.streaming(
                ops.StreamingOp(
                    request.path_params["callConnectionId"],
                    action,
                    locale=body.locale,
                    operation_context=body.operation_context,
                    operation_callback_uri=body.operation_callback_uri,
                )
            )
            return empty_response(202)

        return handle

    acs = routes_for(auth=Auth.HMAC, authenticator=authenticator, versions=CALL_AUTOMATION_VERSIONS)
    return [
        acs(ONE + ":play", play, "POST"),
        acs(ONE + ":recognize", recognize, "POST"),
        acs(ONE + ":cancelAllMediaOperations", cancel_all, "POST"),
        acs(ONE + ":startContinuousDtmfRecognition", continuous_dtmf(True), "POST"),
        acs(ONE + ":stopContinuousDtmfRecognition", continuous_dtmf(False), "POST"),
        acs(ONE + ":sendDtmfTones", send_dtmf, "POST"),
        acs(ONE + ":hold", hold, "POST"),
        acs(ONE + ":unhold", unhold, "POST"),
        acs(ONE + ":summarizeCall", summarize, "POST"),
        *(acs(ONE + f":{action.value}", streaming(action), "POST") for action in StreamingAction),
    ]
