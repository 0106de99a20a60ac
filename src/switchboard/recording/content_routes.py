"""Recording content: the locations RecordingFileStatusUpdated hands out, HMAC-authenticated
(the SDK signs them with the ACS endpoint's host and sends ``x-ms-host``; no api-version).

    GET    /v1/objects/{documentId}/content/media        the chunk (Range: bytes=a-b → 206)
    GET    /v1/objects/{documentId}/content/acsmetadata  its metadata (JSON)
    DELETE /v1/objects/{documentId}                      both; 404 afterwards

They answer on every host name the node serves: the recording host (a name under
``.asm.skype.com`` that the SDK's URL check accepts, docs/recording.md) or the endpoint's own.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from switchboard.core.errors import BadRequestError
from switchboard.core.principal import Principal
from switchboard.http.auth import Authenticator
from switchboard.http.json import empty_response, json_response
from switchboard.http.routing import AcsRoute, Auth, routes_for
from switchboard.recording.documents import DocumentPart, RecordingDocuments
from switchboard.storage.blobs import BlobRangeError

BASE = "/v1/objects"
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def content_routes(documents: RecordingDocuments, authenticator: Authenticator) -> list[AcsRoute]:
    async def download(request: Request, _: Principal) -> Response:
        try:
            part = DocumentPart(request.path_params["part"])
        except ValueError:
            raise BadRequestError("Unknown content: media or acsmetadata.") from None
        start, end = _range(request.headers.get("range"))
        try:
            found = await documents.read(request.path_params["documentId"], part, start, end)
        except BlobRangeError as error:  # ACS-shaped, and 416 as HTTP says for a range
            body = {"error": {"code": error.error_code, "message": error.message}}
            return json_response(body, 416, {"Content-Range": "bytes */*"})
        headers = {"Accept-Ranges": "bytes"}
        if request.headers.get("range") is None:
            return Response(found.data, 200, headers, media_type=found.media_type)
        last = found.start + len(found.data) - 1
        headers["Content-Range"] = f"bytes {found.start}-{last}/{found.total}"
        return Response(found.data, 206, headers, media_type=found.media_type)

    async def delete(request: Request, _: Principal) -> Response:
        await documents.delete(request.path_params["documentId"])
        return empty_response(200)

    plain = routes_for(auth=Auth.HMAC, authenticator=authenticator)
    one = BASE + "/{documentId}"
    return [plain(one + "/content/{part}", download, "GET"), plain(one, delete, "DELETE")]


def _range(header: str | None) -> tuple[int, int | None]:
    if header is None:
        return 0, None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        raise BadRequestError("Only one byte range (bytes=start-end) is supported.")
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else None
    if end is not None and end < start:
        raise BadRequestError("The range ends before it starts.")
    return start, end
