"""What the IVR needs before a call can reach it: a number with inbound calling, and an Event
Grid subscription that sends that number's IncomingCall events to the IVR's webhook.

The number is bought with the official phone numbers SDK; the subscription goes through
Switchboard's events admin API (docs/events.md), signed with the access key as the SDKs sign
their requests (``signed_headers``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
from email.utils import formatdate
from urllib.parse import urlsplit

import httpx
from azure.communication.phonenumbers import (
    PhoneNumberAssignmentType,
    PhoneNumberCapabilities,
    PhoneNumberCapabilityType,
    PhoneNumbersClient,
    PhoneNumberType,
)

from examples.sample_app.settings import AppSettings

INCOMING_CALL = "Microsoft.Communication.IncomingCall"


def phone_number(settings: AppSettings, *, area_code: str | None = None) -> str:
    """A purchased number with inbound calling: one we have, else one bought now."""
    client = PhoneNumbersClient.from_connection_string(
        settings.connection_string, connection_verify=settings.ca_path or True
    )
    for owned in client.list_purchased_phone_numbers():
        if owned.capabilities.calling in (
            PhoneNumberCapabilityType.INBOUND,
            PhoneNumberCapabilityType.INBOUND_OUTBOUND,
        ):
            return str(owned.phone_number)
    search = client.begin_search_available_phone_numbers(
        "US",
        PhoneNumberType.GEOGRAPHIC,
        PhoneNumberAssignmentType.APPLICATION,
        PhoneNumberCapabilities(
            calling=PhoneNumberCapabilityType.INBOUND_OUTBOUND,
            sms=PhoneNumberCapabilityType.NONE,
        ),
        area_code=area_code,
        quantity=1,
    ).result()
    client.begin_purchase_phone_numbers(search.search_id).result()
    return str(search.phone_numbers[0])


def signed_headers(method: str, target: str, host: str, body: bytes, key: str) -> dict[str, str]:
    """ACS HMAC-SHA256: the date, the host and the body's hash, signed with the access key."""
    stamp = formatdate(usegmt=True)
    content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    message = f"{method}\n{target}\n{stamp};{host};{content_hash}".encode()
    signature = base64.b64encode(
        hmac.new(base64.b64decode(key), message, hashlib.sha256).digest()
    ).decode()
    return {
        "x-ms-date": stamp,
        "x-ms-content-sha256": content_hash,
        "Authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256"
        f"&Signature={signature}",
        "Content-Type": "application/json",
    }


def subscribe_incoming_calls(settings: AppSettings, name: str, webhook: str, number: str) -> None:
    """IncomingCall events for ``number`` (an advanced filter on data.to) to ``webhook``;
    Switchboard checks the webhook with Event Grid's validation handshake first."""
    body = json.dumps(
        {
            "endpointUrl": webhook,
            "includedEventTypes": [INCOMING_CALL],
            "advancedFilters": [
                {"operatorType": "StringIn", "key": "data.to.rawId", "values": [f"4:{number}"]}
            ],
        }
    ).encode()
    key = dict(p.split("=", 1) for p in settings.connection_string.strip(";").split(";"))
    target = f"/admin/eventSubscriptions/{name}"
    host = urlsplit(settings.endpoint).netloc
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=settings.ca_path) if settings.ca_path else True
    )
    headers = signed_headers("PUT", target, host, body, key["accesskey"])
    response = httpx.put(settings.endpoint + target, content=body, headers=headers, verify=verify)
    if response.status_code not in (200, 201):
        raise RuntimeError(f"subscribing failed: {response.status_code} {response.text}")
