"""IncomingCall for calls to users: an Event Grid subscription filtered on ``data.to.rawId``
(the events admin API, HMAC-signed as the SDKs sign) and the events a receiver got."""

from __future__ import annotations

import json
import ssl
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.acs_signing import parse_connection_string, sign
from tests.event_receiver import EventReceiver

INCOMING_CALL = "Microsoft.Communication.IncomingCall"


async def subscribe_for_calls_to(
    connection_string: str, ca_path: str, name: str, endpoint_url: str, *callees: str
) -> None:
    """IncomingCall for calls to ``callees`` only, to ``endpoint_url`` (created or replaced)."""
    endpoint, key = parse_connection_string(connection_string)
    target = f"/admin/eventSubscriptions/{name}"
    to_them = {"operatorType": "StringIn", "key": "data.to.rawId", "values": list(callees)}
    body = json.dumps(
        {
            "endpointUrl": endpoint_url,
            "includedEventTypes": [INCOMING_CALL],
            "advancedFilters": [to_them],
        }
    ).encode()
    headers = sign("PUT", target, urlsplit(endpoint).netloc, body, key)
    trusted = ssl.create_default_context(cafile=ca_path)
    async with httpx.AsyncClient(base_url=endpoint, verify=trusted) as http:
        response = await http.put(target, content=body, headers=headers)
    assert response.status_code in (200, 201), response.text


def incoming_calls(events: EventReceiver, callee: str) -> list[dict[str, Any]]:
    """The data of every IncomingCall the receiver got for calls to ``callee``."""
    return [
        event["data"]
        for notification in events.notifications
        for event in notification.events()
        if event.get("eventType") == INCOMING_CALL and event["data"]["to"]["rawId"] == callee
    ]


async def incoming_call_for(
    events: EventReceiver, callee: str, within: float = 20.0
) -> dict[str, Any]:
    await events.wait_until(lambda: bool(incoming_calls(events, callee)), within=within)
    return incoming_calls(events, callee)[0]
