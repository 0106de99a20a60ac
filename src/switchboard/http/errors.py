"""The one place that turns errors into the ACS error body ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import msgspec

from switchboard.core.errors import SwitchboardError

_encoder = msgspec.json.Encoder()


def error_body(exc: SwitchboardError) -> bytes:
    error: dict[str, str] = {"code": exc.error_code, "message": exc.message}
    if exc.target is not None:
        error["target"] = exc.target
    return _encoder.encode({"error": error})


def internal_error_body(request_id: str) -> bytes:
    return _encoder.encode(
        {
            "error": {
                "code": "InternalError",
                "message": f"An unexpected error occurred (request id {request_id}).",
            }
        }
    )
