"""The replay's own rules: what counts as a difference, how ids carry over, what the doc lists."""

from __future__ import annotations

import httpx

from tests.conformance.replay import IdMap, compare, listed_differences, shape_differences


def test_shape_compares_keys_types_and_the_values_sdks_branch_on() -> None:
    recorded = {"error": {"code": "BadRequest", "message": "x", "details": [{"target": "A"}]}}
    assert shape_differences(recorded, recorded, "$") == []
    ours = {"error": {"code": "NotFound", "message": 1, "target": "t", "details": []}}
    assert shape_differences(recorded, ours, "$") == [
        "$.error.code value",
        "$.error.message type",
        "$.error.details empty",
        "$.error.target extra",
    ]
    assert shape_differences({"n": 2.0, "ok": True}, {"n": 2, "ok": True}, "$") == []
    assert shape_differences({"n": 2}, {"n": True}, "$") == ["$.n type"]


def test_status_and_headers_that_matter() -> None:
    entry = {
        "StatusCode": 201,
        "ResponseHeaders": {"Location": "1", "MS-CV": "x", "Content-Type": "application/json"},
        "ResponseBody": {"id": "1"},
    }
    ours = httpx.Response(200, json={"id": "9"}, headers={"ms-cv": "y"})
    assert compare(entry, ours) == ["status 201", "header Location"]


def test_recorded_ids_become_ours_in_later_paths_and_bodies() -> None:
    ids = IdMap()
    ids.learn(
        {"identity": {"id": "Sanitized"}, "accessToken": {"token": "t"}},
        {"identity": {"id": "8:acs:r_u"}, "accessToken": {"token": "real"}},
    )
    assert ids.tokens == ["real"]
    assert ids.apply("/identities/Sanitized/:issueAccessToken", in_url=True) == (
        "/identities/8%3Aacs%3Ar_u/:issueAccessToken"
    )
    assert ids.apply("Sanitized", in_url=False) == "8:acs:r_u"
    ids.learn({"n": "1"}, {"n": "2"})  # not an id key, and too short to replace safely
    assert ids.apply("1", in_url=False) == "1"


def test_the_doc_lists_differences_in_backticks() -> None:
    text = "- `sms/a_b#1 body $.error.code value` — why\n- `not one` — no"
    assert listed_differences(text) == {"sms/a_b#1 body $.error.code value"}
