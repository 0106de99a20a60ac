"""Long-running operations on the wire, as azure-core's ``LROBasePolling`` expects them.

POST … ─▶ 202 Operation-Location [+ Location] + Retry-After
GET Operation-Location ─▶ 200 {"status": notStarted|running|…} ─▶ … succeeded|failed|canceled
final-state-via location ─▶ GET Location (from the initial 202)
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.responses import Response

from switchboard.core.clock import iso8601
from switchboard.storage.operations import Operation, OperationStatus

# The SDK raises HttpResponseError for failed operations and reads .error from the body,
# so a failed operation always carries one.
_UNKNOWN_FAILURE = ("InternalError", "The operation failed.")


def accepted_response(
    operation_location: str,
    *,
    location: str | None = None,
    retry_after: int = 1,
    headers: Mapping[str, str] | None = None,
    body: Mapping[str, str] | None = None,
) -> Response:
    """The initial 202 of an LRO; ``headers`` adds extras such as ``operation-id``, ``body``
    a JSON body where ACS sends one (``{"capabilitiesUpdateId"}``)."""
    all_headers = {"Operation-Location": operation_location, "Retry-After": str(retry_after)}
    if location is not None:
        all_headers["Location"] = location
    if headers:
        all_headers.update(headers)
    if body is None:
        return Response(b"", 202, all_headers)
    content = json.dumps(dict(body)).encode()
    return Response(content, 202, all_headers, media_type="application/json; charset=utf-8")


def operation_body(op: Operation) -> dict[str, object]:
    """The status document at ``Operation-Location`` (ACS Phone Numbers' operation shape)."""
    body: dict[str, object] = {
        "id": op.id,
        "operationType": op.kind,
        "status": op.status.value,
        "createdDateTime": iso8601(op.created_ms / 1000),
        "lastActionDateTime": iso8601(op.updated_ms / 1000),
    }
    # Always present, null when the operation makes nothing (purchase, release): as ACS.
    body["resourceLocation"] = op.resource_location
    error = op.error
    if error is None and op.status is OperationStatus.FAILED:
        error = _UNKNOWN_FAILURE
    if error is not None:
        body["error"] = {"code": error[0], "message": error[1]}
    return body
