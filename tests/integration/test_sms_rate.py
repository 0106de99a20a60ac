"""Per-number send rates: messages over the rate wait in the queue (in order), none fails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest
from azure.communication.phonenumbers import PhoneNumberCapabilityType, PhoneNumbersClient
from azure.communication.phonenumbers import PhoneNumberType as NumberType
from azure.communication.sms import SmsClient

from tests.integration.server import RunningServer, start_server
from tests.integration.sms_helpers import buy_number, handset, wait_for_inbox

pytestmark = pytest.mark.anyio

PER_MINUTE = 120  # one message every 0.5 s per number, after a burst of one


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp("sms-rate")
    running = start_server(
        data_dir,
        env={
            "SWITCHBOARD_SMS_RATE_PER_NUMBER_PER_MINUTE": str(PER_MINUTE),
            "SWITCHBOARD_SMS_RATE_BURST": "1",
        },
    )
    yield running
    assert running.stop() == 0, "\n".join(running.output)


async def test_messages_over_the_rate_wait_and_leave_in_order(
    slow_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", slow_server.ca_path)
    numbers = PhoneNumbersClient.from_connection_string(slow_server.connection_string)
    ours = buy_number(
        numbers, sms=PhoneNumberCapabilityType.INBOUND_OUTBOUND, kind=NumberType.TOLL_FREE
    )
    sms = SmsClient.from_connection_string(slow_server.connection_string)
    phone = handset()
    texts = [f"message {n}" for n in range(4)]
    for text in texts:
        [result] = sms.send(from_=ours, to=phone, message=text)
        assert result.successful and result.http_status_code == 202

    received = await wait_for_inbox(slow_server, phone, len(texts), within=20)
    assert [m["message"] for m in received] == texts
    times = [datetime.fromisoformat(m["receivedAt"].replace("Z", "+00:00")) for m in received]
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(times)]
    interval = 60 / PER_MINUTE
    assert all(gap >= interval * 0.9 for gap in gaps), gaps
