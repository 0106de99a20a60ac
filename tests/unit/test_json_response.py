"""json_response lays out its headers itself: the same bytes Starlette's Response would send."""

from __future__ import annotations

import pytest
from starlette.responses import Response

from switchboard.http.json import JSON_MEDIA_TYPE, json_response


@pytest.mark.parametrize(
    ("status", "headers"),
    [(200, None), (201, None), (202, {"Operation-Location": "https://x/op"}), (204, None)],
)
def test_json_response_headers_are_starlettes(status: int, headers: dict[str, str] | None) -> None:
    ours = json_response({"token": "t", "n": 1}, status, headers)
    theirs = Response(ours.body, status, headers, media_type=JSON_MEDIA_TYPE)
    assert ours.raw_headers == theirs.raw_headers
    assert (ours.status_code, ours.body, ours.background) == (status, b'{"token":"t","n":1}', None)


def test_headers_can_be_added_to_a_json_response() -> None:
    response = json_response({})
    response.headers["Repeatability-Result"] = "accepted"
    assert (b"repeatability-result", b"accepted") in response.raw_headers
