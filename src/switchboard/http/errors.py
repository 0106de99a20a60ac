"""The one place that turns errors into the ACS error body ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import msgspec

from switchboard.core.errors import (
    BadRequestError,
    MethodNotAllowedError,
    NotFoundError,
    SwitchboardError,
)

_encoder = msgspec.json.Encoder()


def error_body(exc: SwitchboardError) -> bytes:
    return _encoder.encode({"error": _error_json(exc)})


def _error_json(exc: SwitchboardError) -> dict[str, object]:
    error: dict[str, object] = {"code": exc.error_code, "message": exc.message}
    if exc.target is not None:
        error["target"] = exc.target
    if exc.details:
        error["details"] = [_error_json(detail) for detail in exc.details]
    if exc.inner is not None:
        error["innererror"] = _error_json(exc.inner)
    return error


def internal_error_body(request_id: str) -> bytes:
    return _encoder.encode(
        {
            "error": {
                "code": "InternalError",
                "message": f"An unexpected error occurred (request id {request_id}).",
            }
        }
    )


def http_exception_error(status: int, detail: str) -> SwitchboardError:
    """A Starlette ``HTTPException`` (a route's 405, a mount's 404) as one of our errors."""
    if status == 404:
        return NotFoundError("No such resource.")
    if status == 405:
        return MethodNotAllowedError("This method is not allowed on this resource.")
    if 400 <= status < 500:
        return BadRequestError(detail or "The request was refused.")
    return SwitchboardError(detail or "An unexpected error occurred.")
