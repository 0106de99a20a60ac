"""Virtual phones of the simulator carrier, driven through their admin API (signed like the
SDKs sign) on an in-process node: docs/voice-simulator.md."""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import httpx
from azure.communication.phonenumbers import (
    PhoneNumberAssignmentType,
    PhoneNumberCapabilities,
    PhoneNumberCapabilityType,
    PhoneNumbersClient,
    PhoneNumberType,
)

from tests.acs_signing import parse_connection_string, sign

PHONES = "/admin/simulator/voice/phones"


class Node(Protocol):
    """An in-process node or a server process: where the phones live, and how to reach it."""

    @property
    def connection_string(self) -> str: ...

    @property
    def ca_path(self) -> str: ...


async def admin(node: Node, method: str, target: str, body: Any = None) -> httpx.Response:
    endpoint, key = parse_connection_string(node.connection_string)
    content = b"" if body is None else json.dumps(body).encode()
    headers = sign(method, target, urlsplit(endpoint).netloc, content, key)
    context = ssl.create_default_context(cafile=node.ca_path)
    async with httpx.AsyncClient(base_url=endpoint, verify=context) as http:
        return await http.request(method, target, content=content, headers=headers)


def new_phone() -> str:
    return f"+1312555{uuid.uuid4().int % 10_000:04d}"


async def phone(node: Node, number: str, action: str = "", body: Any = None) -> Any:
    """The phone's status after ``action`` (PUT its rules when ``action`` is "put")."""
    path = f"{PHONES}/{quote(number)}"
    if action == "put":
        response = await admin(node, "PUT", path, body or {})
    elif action:
        response = await admin(node, "POST", f"{path}:{action}", body)
    else:
        response = await admin(node, "GET", path)
    assert response.status_code in (200, 202), response.text
    return response.json()


async def until_phone(
    node: Node, number: str, done: Callable[[Any], bool], within: float = 20.0
) -> Any:
    async with asyncio.timeout(within):
        while True:
            status = await phone(node, number)
            if done(status):
                return status
            await asyncio.sleep(0.05)


async def say_all(node: Node, number: str, text: str) -> Any:
    """The phone says ``text`` and has sent all of it (its frames go out one a tick; what a
    phone sends is forwarded in-process, so the others have heard it once it is sent)."""
    await phone(node, number, "say", {"text": text})
    return await until_phone(node, number, lambda s: s["queuedMs"] == 0)


def heard_from(status: Any, participant_id: str) -> int:
    """Loud frames the phone heard from one SFU participant (``app``: the app's endpoint)."""
    return int(((status.get("heard") or {}).get("loudFrom") or {}).get(participant_id, 0))


def loud_frames(status: Any) -> int:
    """Loud frames the phone heard so far (``heard`` is null until its first call connects)."""
    return int((status.get("heard") or {}).get("loudFrames", 0))


def buy_number(server: Node) -> str:
    """A purchased number that takes and places calls (on a running node)."""
    numbers = PhoneNumbersClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    search = numbers.begin_search_available_phone_numbers(
        "US",
        PhoneNumberType.GEOGRAPHIC,
        PhoneNumberAssignmentType.APPLICATION,
        PhoneNumberCapabilities(
            calling=PhoneNumberCapabilityType.INBOUND_OUTBOUND, sms=PhoneNumberCapabilityType.NONE
        ),
        quantity=1,
        polling_interval=0.05,
    ).result()
    numbers.begin_purchase_phone_numbers(search.search_id, polling_interval=0.05).result()
    return str(search.phone_numbers[0])
