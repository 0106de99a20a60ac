"""``switchboard sim ...`` from the shell, with a running server picking up what it writes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.communication.phonenumbers import PhoneNumberCapabilityType, PhoneNumbersClient
from azure.communication.phonenumbers import PhoneNumberType as NumberType
from azure.communication.sms import SmsClient

from tests.integration.admin_http import signed_request
from tests.integration.server import RunningServer, start_server
from tests.integration.sms_helpers import buy_number, final_report, handset, wait_for_inbox

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sms-cli")


@pytest.fixture(scope="module")
def running(data_dir: Path) -> Iterator[RunningServer]:
    server = start_server(data_dir)
    yield server
    assert server.stop() == 0, "\n".join(server.output)


@pytest.fixture(scope="module")
def ours(running: RunningServer) -> Iterator[str]:
    """A toll-free number with two-way SMS, bought once for this module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", running.ca_path)
        numbers = PhoneNumbersClient.from_connection_string(running.connection_string)
        yield buy_number(
            numbers, sms=PhoneNumberCapabilityType.INBOUND_OUTBOUND, kind=NumberType.TOLL_FREE
        )


def sim(data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "switchboard", "sim", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_handset_texts_from_the_shell_and_gets_the_automatic_answer(
    running: RunningServer,
    data_dir: Path,
    ours: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_path)
    phone = handset()
    sim(data_dir, "sms", "send", "--from", phone, "--to", ours, "HELP")
    [answer] = await wait_for_inbox(running, phone, 1)
    assert "Reply STOP" in answer["message"]
    [line] = sim(data_dir, "sms", "inbox", "--to", phone).splitlines()
    assert json.loads(line)["message"] == answer["message"]


async def test_handset_that_rejects_fails_the_message(
    running: RunningServer,
    data_dir: Path,
    ours: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_path)
    phone = handset()
    assert "reject" in sim(data_dir, "handset", phone, "--report", "reject")
    [result] = SmsClient.from_connection_string(running.connection_string).send(
        from_=ours, to=phone, message="nobody home", enable_delivery_report=True
    )
    assert result.successful  # accepted: the refusal comes later, from the network
    report = await final_report(running, result.message_id)
    assert report.status_code == 200, report.text
    assert report.json()["deliveryStatus"] == "Failed"
    assert "refuses" in report.json()["deliveryStatusDetails"]
    assert await wait_for_inbox(running, phone, 1, within=0.5) == []


def test_bad_number_is_refused_with_a_usage_error(data_dir: Path) -> None:
    command = ["sms", "send", "--from", "12345", "--to", "+18005550100", "hi"]
    done = subprocess.run(
        [sys.executable, "-m", "switchboard", "sim", *command, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "not an E.164 phone number" in done.stderr


async def test_delayed_receipt_arrives_after_its_delay(
    running: RunningServer,
    data_dir: Path,
    ours: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_path)
    phone = handset()
    sim(data_dir, "handset", phone, "--report", "delivered", "--delay", "2")
    [result] = SmsClient.from_connection_string(running.connection_string).send(
        from_=ours, to=phone, message="take your time", enable_delivery_report=True
    )
    target = f"/deliveryReports/{result.message_id}?api-version=2026-01-23"
    await wait_for_inbox(running, phone, 1)  # the handset has it; its receipt is owed
    pending = await signed_request(running, "GET", target)
    assert pending.status_code == 404
    assert pending.json()["error"]["code"] == "DeliveryReportNotFound"
    report = await final_report(running, result.message_id)
    assert report.json()["deliveryStatus"] == "Delivered"
