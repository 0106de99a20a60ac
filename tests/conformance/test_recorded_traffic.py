"""Microsoft's recorded SDK traffic, replayed against a running Switchboard over TLS.

Every difference must be listed in docs/conformance.md with its reason; one that is not
(a regression, or a new recording) fails the test for its service.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from azure.communication.phonenumbers import (
    PhoneNumberCapabilityType,
    PhoneNumbersClient,
    PhoneNumberType,
)

from tests.conformance.replay import Replayer, listed_differences, load_recordings
from tests.conformance.summary import MATCHES, STALE
from tests.integration.server import RunningServer
from tests.integration.sms_helpers import buy_number, handset

pytestmark = pytest.mark.anyio

DOC = Path(__file__).parents[2] / "docs" / "conformance.md"
SERVICES = sorted({recording.service for recording in load_recordings()})


@pytest.fixture(scope="module")
def owned_numbers(server: RunningServer) -> Iterator[tuple[str, str]]:
    """Two numbers this resource owns (what the recordings' sanitised numbers stood for):
    one that sends SMS throughout, one whose capabilities a recording changes."""
    # The sync client reads the CA from the environment per request.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
        numbers = PhoneNumbersClient.from_connection_string(server.connection_string)
        sms, kind = PhoneNumberCapabilityType.INBOUND_OUTBOUND, PhoneNumberType.TOLL_FREE
        yield buy_number(numbers, sms=sms, kind=kind), buy_number(numbers, sms=sms, kind=kind)


@pytest.mark.parametrize("service", SERVICES)
async def test_recorded_interactions_match_or_are_listed(
    server: RunningServer,
    owned_numbers: tuple[str, str],
    service: str,
    request: pytest.FixtureRequest,
) -> None:
    listed = listed_differences(DOC.read_text())
    placeholders = {
        "{owned_number}": owned_numbers[0],
        "{spare_number}": owned_numbers[1],
        "{handset}": handset(),
        "{handset2}": handset(),
        "{administrative_division}": "WA",  # one the demo inventory has numbers in
        "{search_country}": "US",  # where the demo inventory has toll-free numbers
    }
    context = ssl.create_default_context(cafile=server.ca_path)
    recordings = [r for r in load_recordings() if r.service == service]
    matched = total = listed_count = 0
    unlisted: list[str] = []
    seen: set[str] = set()
    async with httpx.AsyncClient(verify=context, timeout=30) as http:
        replayer = Replayer(server.endpoint, server.access_key, http, placeholders)
        for recording in recordings:
            for differences in await replayer.replay(recording):
                total += 1
                matched += not differences
                listed_count += sum(d in listed for d in differences)
                unlisted += [d for d in differences if d not in listed]
                seen.update(differences)
    database = request.node.callspec.params.get("server", "sqlite")
    MATCHES[(database, service)] = (matched, total, listed_count)
    # Listed but gone (fixed since): reported, not failed, so the doc can be trimmed.
    STALE.update(d for d in listed if d.startswith(f"{service}/") and d not in seen)
    assert total > 0
    assert not unlisted, "differences not listed in docs/conformance.md:\n" + "\n".join(unlisted)
