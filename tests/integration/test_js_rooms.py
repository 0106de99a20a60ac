"""@azure/communication-rooms (npm) against a running server: the room lifecycle, participants,
and listings across pages (the JS SDK GETs ``nextLink`` exactly as the server wrote it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.js_sdk import NodeClients, one_server
from tests.integration.server import RunningServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from one_server(tmp_path_factory)


@pytest.fixture(scope="module")
def result(server: RunningServer) -> Any:
    return NodeClients(server).run("rooms.mjs")


def test_room_lifecycle(result: Any) -> None:
    created = result["created"]
    assert created["id"].isdigit()
    assert created["validFrom"] == result["sentFrom"]
    assert created["validUntil"] == result["sentUntil"]
    assert created["pstnDialOutEnabled"] is True and created["createdOnIsPast"] is True
    assert result["fetchedSame"] is True
    assert result["updated"] == {"validUntil": result["sentLater"], "pstnDialOutEnabled": True}
    # An update that names only pstnDialOutEnabled keeps the window.
    assert result["toggled"] == {"validUntil": result["sentLater"], "pstnDialOutEnabled": False}
    assert result["gone"]["status"] == 404
    assert result["backwards"]["status"] == 400
    assert result["badId"]["status"] == 400


def test_participants(result: Any) -> None:
    alice, bob, carol = (result["users"][name] for name in ("alice", "bob", "carol"))
    assert result["participants"] == {alice: "Consumer", bob: "Attendee", carol: "Collaborator"}
    assert result["participantPages"] == [2, 1]
    assert result["afterRemoval"] == {alice: "Consumer", carol: "Collaborator"}


def test_listing_follows_next_link_across_pages(result: Any) -> None:
    everything = [result["created"]["id"], *result["made"]]
    assert sorted(result["listed"]) == sorted(everything)
    assert result["roomPages"] == [2, 2, 1]
    listings = result["listings"]
    assert all(listing["status"] == 200 for listing in listings)
    # Every page, the first and those from nextLink, carried the SDK's api-version.
    assert {listing["query"]["api-version"] for listing in listings} == {"2025-03-13"}
    assert sum("continuationToken" in listing["query"] for listing in listings) == 4
