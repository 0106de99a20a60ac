"""Recording routes (acs-wire-reference §7), HMAC-authenticated like Call Automation's:
start (repeatable), get, pause, resume, stop."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from switchboard.core.principal import Principal
from switchboard.http.apiversion import CALL_AUTOMATION_VERSIONS
from switchboard.http.auth import Authenticator
from switchboard.http.json import decode_json, empty_response, json_response, read_body
from switchboard.http.repeatability import Repeatability
from switchboard.http.routing import Auth, routes_for
from switchboard.recording import schemas
from switchboard.recording.service import RecordingService

BASE = "/calling/recordings"


def recording_routes(
    service: RecordingService, authenticator: Authenticator, repeatability: Repeatability
) -> list[BaseRoute]:
    async def start(request: Request, _: Principal) -> Response:
        body = decode_json(await read_body(request), schemas.StartRecordingRequest)

        async def run() -> Response:
            manifest = await service.start_recording(schemas.target(body), schemas.options(body))
            return json_response(schemas.state_json(manifest), 200)

        return await repeatability.run(request, "recording.start", run)

    async def get(request: Request, _: Principal) -> Response:
        manifest = await service.get(request.path_params["recordingId"])
        return json_response(schemas.state_json(manifest), 200)

    async def pause(request: Request, _: Principal) -> Response:
        await service.pause(request.path_params["recordingId"])
        return empty_response(202)

    async def resume(request: Request, _: Principal) -> Response:
        await service.resume(request.path_params["recordingId"])
        return empty_response(202)

    async def stop(request: Request, _: Principal) -> Response:
        await service.stop_recording(request.path_params["recordingId"])
        return empty_response(204)

    acs = routes_for(auth=Auth.HMAC, authenticator=authenticator, versions=CALL_AUTOMATION_VERSIONS)
    one = BASE + "/{recordingId}"
    return [
        acs(BASE, start, "POST"),
        acs(one + ":pause", pause, "POST"),
        acs(one + ":resume", resume, "POST"),
        acs(one, get, "GET"),
        acs(one, stop, "DELETE"),
    ]
