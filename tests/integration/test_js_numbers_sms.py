"""@azure/communication-phone-numbers and @azure/communication-sms (npm) against a running
server: numbers bought through the SDK's long-running operations, listings across pages
(``nextLink`` followed verbatim), and a message delivered to the simulator carrier's handsets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.js_sdk import NodeClients, one_server
from tests.integration.server import RunningServer
from tests.integration.sms_helpers import handset, wait_for_inbox

BOUGHT = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from one_server(tmp_path_factory)


@pytest.fixture(scope="module")
def numbers(server: RunningServer) -> Any:
    return NodeClients(server).run("numbers.mjs", {"quantity": BOUGHT})


def test_purchased_numbers_are_listed_across_pages(numbers: Any) -> None:
    found = numbers["found"]
    assert len(found) == BOUGHT and all(n.startswith("+1") for n in found)
    assert sorted(n["phoneNumber"] for n in numbers["purchased"]) == sorted(found)
    assert {(n["countryCode"], n["phoneNumberType"], n["sms"]) for n in numbers["purchased"]} == {
        ("US", "tollFree", "inbound+outbound")
    }
    assert numbers["purchasedPages"] == [2, 1]
    assert sorted(numbers["remaining"]) == sorted(set(found) - {numbers["released"]})


def test_catalogue_pages_carry_the_api_version(numbers: Any) -> None:
    countries = numbers["countries"]
    assert "US" in countries and len(countries) > 2
    pages = numbers["countryPages"]
    assert sum(pages) == len(countries) and set(pages[:-1]) == {2}
    listings = numbers["listings"]
    assert {listing["status"] for listing in listings} == {200}
    assert {listing["query"]["api-version"] for listing in listings} == {"2025-06-01"}
    next_pages = [q for q in (listing["query"] for listing in listings) if q.get("skip") != "0"]
    assert len(next_pages) >= 2


@pytest.mark.anyio
async def test_message_reaches_every_handset(server: RunningServer, numbers: Any) -> None:
    sender = numbers["remaining"][0]
    to = [handset(), handset()]
    args = {"from": sender, "to": to, "message": "Hello from node", "notOurs": "+18005559999"}
    sent = NodeClients(server).run("sms.mjs", args)
    results = sent["results"]
    assert [r["to"] for r in results] == to
    assert all(r["successful"] and r["httpStatusCode"] == 202 for r in results)
    assert all(r["messageId"].startswith("Outgoing_") for r in results)
    assert sent["unknownSender"] == {"status": 401, "code": "Unauthorized"}
    assert sent["requests"][0] == {"url": "/sms?api-version=2021-03-07", "status": 202}
    for number in to:
        [received] = await wait_for_inbox(server, number, 1)
        assert (received["from"], received["message"]) == (sender, "Hello from node")
