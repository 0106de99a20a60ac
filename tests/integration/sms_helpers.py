"""Helpers for the SMS tests: numbers bought with the SDK, the simulator's handsets."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from azure.communication.phonenumbers import (
    PhoneNumberAssignmentType,
    PhoneNumberCapabilities,
    PhoneNumberCapabilityType,
    PhoneNumbersClient,
    PhoneNumberType,
)

from tests.integration.admin_http import signed_request
from tests.integration.server import RunningServer


def handset() -> str:
    """A fresh simulated handset number (fictitious 555-01xx style, unique per test)."""
    return f"+1312555{uuid.uuid4().int % 10_000:04d}"


def buy_number(
    numbers: PhoneNumbersClient, *, sms: PhoneNumberCapabilityType, kind: PhoneNumberType
) -> str:
    search = numbers.begin_search_available_phone_numbers(
        "US",
        kind,
        PhoneNumberAssignmentType.APPLICATION,
        PhoneNumberCapabilities(calling=PhoneNumberCapabilityType.NONE, sms=sms),
        quantity=1,
        polling_interval=0.05,
    ).result()
    numbers.begin_purchase_phone_numbers(search.search_id, polling_interval=0.05).result()
    [number] = search.phone_numbers
    return str(number)


async def inbox(server: RunningServer, number: str) -> list[dict[str, Any]]:
    response = await signed_request(
        server, "GET", f"/admin/simulator/sms/inbox?to=%2B{number.lstrip('+')}"
    )
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["value"]
    return messages


async def wait_for_inbox(
    server: RunningServer, number: str, count: int, within: float = 15.0
) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        messages = await inbox(server, number)
        if len(messages) >= count or asyncio.get_running_loop().time() > deadline:
            return messages
        await asyncio.sleep(0.05)


async def inbox_before_sentinel(
    server: RunningServer, sender: str, to: str, within: float = 15.0
) -> list[dict[str, Any]]:
    """Send one more message from ``sender`` to ``to`` and wait until the handset has it:
    whatever was queued before it has been claimed by then (the sender takes due messages in
    due order), so the messages before it are all there will be. No sleeping on a hunch."""
    marker = f"sentinel {uuid.uuid4().hex}"
    body = {"from": sender, "smsRecipients": [{"to": to}], "message": marker}
    response = await signed_request(server, "POST", "/sms?api-version=2021-03-07", body)
    assert response.status_code == 202, response.text
    deadline = asyncio.get_running_loop().time() + within
    while True:
        messages = await inbox(server, to)
        texts = [m["message"] for m in messages]
        if marker in texts:
            return [m for m in messages if m["message"] != marker]
        assert asyncio.get_running_loop().time() < deadline, texts
        await asyncio.sleep(0.05)


async def handset_sends(server: RunningServer, sender: str, to: str, text: str) -> None:
    body = {"from": sender, "to": to, "message": text}
    response = await signed_request(server, "POST", "/admin/simulator/sms:send", body)
    assert response.status_code == 202, response.text


async def final_report(
    server: RunningServer, message_id: str, within: float = 10.0
) -> httpx.Response:
    """``GET /deliveryReports/{id}`` (api-version 2026-01-23) until it answers 200 (the
    message is final) or ``within`` seconds pass; the last response either way."""
    target = f"/deliveryReports/{message_id}?api-version=2026-01-23"
    deadline = asyncio.get_running_loop().time() + within
    while True:
        report = await signed_request(server, "GET", target)
        if report.status_code == 200 or asyncio.get_running_loop().time() > deadline:
            return report
        await asyncio.sleep(0.05)
