from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.core.errors import BadRequestError
from switchboard.core.identifiers import (
    IdentifierKind,
    TeamsCloud,
    identifier_from_raw_id,
    new_acs_user_id,
)
from switchboard.http.identifiers import identifier_from_json, identifier_to_json


@pytest.mark.parametrize(
    ("raw_id", "kind"),
    [
        ("8:acs:res_user", IdentifierKind.COMMUNICATION_USER),
        ("8:spool:res_user", IdentifierKind.COMMUNICATION_USER),
        ("8:acs:res_tenant_user", IdentifierKind.TEAMS_EXTENSION_USER),
        ("4:+14255550123", IdentifierKind.PHONE_NUMBER),
        ("8:orgid:abc", IdentifierKind.MICROSOFT_TEAMS_USER),
        ("8:teamsvisitor:abc", IdentifierKind.MICROSOFT_TEAMS_USER),
        ("28:gcch:bot", IdentifierKind.MICROSOFT_TEAMS_APP),
        ("something-else", IdentifierKind.UNKNOWN),
    ],
)
def test_raw_id_grammar_matches_the_sdks(raw_id: str, kind: IdentifierKind) -> None:
    assert identifier_from_raw_id(raw_id).kind is kind


def test_new_user_ids_have_exactly_one_underscore_after_the_prefix() -> None:
    user_id = new_acs_user_id("0f3c6f3a-1a54-4a4e-bd7a-6d0d0d3c0b6e")
    assert identifier_from_raw_id(user_id).kind is IdentifierKind.COMMUNICATION_USER
    assert user_id.removeprefix("8:acs:").count("_") == 1


def test_identifier_without_kind_parses_from_its_kind_object() -> None:
    parsed = identifier_from_json({"phoneNumber": {"value": "+14255550123"}})
    assert parsed.raw_id == "4:+14255550123"
    user = identifier_from_json({"communicationUser": {"id": "8:acs:r_u"}})
    assert user.kind is IdentifierKind.COMMUNICATION_USER


def test_raw_id_wins_over_the_kind_object() -> None:
    parsed = identifier_from_json({"rawId": "8:acs:r_a", "communicationUser": {"id": "8:acs:r_b"}})
    assert parsed.raw_id == "8:acs:r_a"


def test_emitted_identifiers_always_carry_raw_id_and_kind() -> None:
    body = identifier_to_json(identifier_from_raw_id("8:dod:teamsuser"))
    assert body == {
        "rawId": "8:dod:teamsuser",
        "kind": "microsoftTeamsUser",
        "microsoftTeamsUser": {"userId": "teamsuser", "isAnonymous": False, "cloud": "dod"},
    }
    assert identifier_from_raw_id("8:dod:teamsuser").cloud is TeamsCloud.DOD


def test_identifier_with_nothing_usable_is_a_bad_request() -> None:
    with pytest.raises(BadRequestError):
        identifier_from_json({"kind": "communicationUser"})
    with pytest.raises(BadRequestError):
        identifier_from_raw_id("")


@given(st.text(min_size=1))
def test_any_raw_id_round_trips_through_json(raw_id: str) -> None:
    assert identifier_from_json(identifier_to_json(identifier_from_raw_id(raw_id))).raw_id == raw_id
