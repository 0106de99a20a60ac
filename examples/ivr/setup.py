"""What the IVR needs before a call can reach it: a number with inbound calling, and an Event
Grid subscription that sends that number's IncomingCall events to the IVR's webhook.

The number is bought with the official phone numbers SDK; the subscription goes through
Switchboard's events admin API (examples/eventgrid.py).
"""

from __future__ import annotations

from azure.communication.phonenumbers import (
    PhoneNumberAssignmentType,
    PhoneNumberCapabilities,
    PhoneNumberCapabilityType,
    PhoneNumbersClient,
    PhoneNumberType,
)

from examples.eventgrid import subscribe
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


def subscribe_incoming_calls(settings: AppSettings, name: str, webhook: str, number: str) -> None:
    """IncomingCall events for ``number`` (an advanced filter on data.to) to ``webhook``;
    Switchboard checks the webhook with Event Grid's validation handshake first."""
    subscribe(
        settings,
        name,
        webhook,
        INCOMING_CALL,
        [{"operatorType": "StringIn", "key": "data.to.rawId", "values": [f"4:{number}"]}],
    )
