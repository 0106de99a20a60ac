"""@azure/communication-phone-numbers' SipRoutingClient (npm) against a running server: every
method, the api-version it sends, ACS's error codes (tests/js/siprouting.mjs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.js_sdk import NodeClients
from tests.integration.server import RunningServer, start_server
from tests.integration.sip_routing_servers import free_udp_port, sip_env

A, B, C = "sbc-a.example.com", "sbc-b.example.com", "sbc-c.example.com"


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server: RunningServer = start_server(
        tmp_path_factory.mktemp("sip-routing-js"), env=sip_env(free_udp_port())
    )
    try:
        yield NodeClients(server).run("siprouting.mjs")
    finally:
        assert server.stop() == 0, "\n".join(server.output)


def test_trunks_and_routes_through_every_method(result: Any) -> None:
    assert result["set"] == [
        {"fqdn": A, "sipSignalingPort": 5061},
        {"fqdn": B, "sipSignalingPort": 5062},
    ]
    assert result["one"] == {"fqdn": C, "sipSignalingPort": 5063}
    assert result["fetched"] == {"fqdn": B, "sipSignalingPort": 5062}
    us = {
        "name": "us",
        "description": "N. America",
        "numberPattern": r"\+1[0-9]{10}",
        "trunks": [A, C],
    }
    anything = {"name": "any", "numberPattern": "^+[1-9][0-9]{3,23}$", "trunks": [B]}
    assert result["routes"] == result["listedRoutes"] == [us, anything]
    assert result["listedTrunks"] == [
        {"fqdn": A, "sipSignalingPort": 5061},
        {"fqdn": C, "sipSignalingPort": 5063},
    ]
    assert result["missing"]["code"] == "NotFound"  # the SDK's own, from the listing
    assert result["versions"] == ["2023-03-01"]


def test_errors_carry_acs_codes(result: Any) -> None:
    errors = result["errors"]
    unprocessable = "UnprocessableConfiguration"
    assert errors["badFqdn"] == {"status": 422, "code": unprocessable, "inner": "InvalidTrunkFqdn"}
    assert errors["badPort"]["inner"] == "InvalidTrunkSipSignalingPort"
    assert errors["unknownTrunk"]["inner"] == "MissingTrunk"
    assert errors["badPattern"]["inner"] == "InvalidRouteNumberPattern"
    assert errors["sameName"] == {"status": 400, "code": unprocessable, "inner": "DuplicatedRoute"}
    assert errors["routedTrunk"]["inner"] == "MissingTrunk"
