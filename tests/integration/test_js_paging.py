"""The npm SDKs page across every list that tests/js/chat.mjs, rooms.mjs and numbers.mjs do not
already follow: chat read receipts, the phone-number catalogue's area codes (toll-free and
geographic), localities and offerings, and number reservations (tests/js/paging.mjs). Each
nextLink is absolute and carries the api-version, so the SDK's verbatim GET of it succeeds."""

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
def paging(server: RunningServer) -> Any:
    return NodeClients(server).run("paging.mjs")


def test_read_receipts_are_listed_one_a_page(paging: Any) -> None:
    assert paging["receipts"] == paging["readers"]
    # Each page full, then an empty one: the server offers a next page after a full one.
    assert paging["pages"]["readReceipts"] == [1, 1, 1, 0]


@pytest.mark.parametrize(
    "listing",
    ["tollFreeAreaCodes", "geographicAreaCodes", "localities", "offerings", "reservations"],
)
def test_the_number_catalogue_is_listed_across_pages(paging: Any, listing: str) -> None:
    pages = paging["pages"][listing]
    assert len(pages) >= 2 and set(pages) == {1}


def test_reservations_are_listed_across_pages(paging: Any) -> None:
    assert set(paging["reservationIds"]) <= set(paging["reserved"])


def test_every_page_request_carried_the_api_version_and_succeeded(paging: Any) -> None:
    listings = paging["listings"]
    assert {listing["status"] for listing in listings} == {200}
    assert all(listing["query"].get("api-version") for listing in listings)
    followed = [q for q in (listing["query"] for listing in listings) if q.get("skip", "0") != "0"]
    assert len(followed) >= 3 + 1 + 1 + 2 + 3 + 2  # the nextLinks the SDKs GET as given
