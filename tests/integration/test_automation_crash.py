"""Call Automation's stores across a ``kill -9``: a callback queued (and not yet delivered: its
receiver answers 503) before the crash arrives after the restart, once; the call connection
record still answers GET. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from azure.communication.callautomation import CallAutomationClient, CommunicationUserIdentifier
from azure.communication.identity import CommunicationIdentityClient

from tests.callback_receiver import CallbackReceiver
from tests.integration.server import start_server

pytestmark = pytest.mark.anyio

ENV = {
    # Retries come fast, and a batch the killed process had claimed is taken up again after
    # its lease (the POST's timeout plus at least 5 s: 6 s here).
    "SWITCHBOARD_AUTOMATION_CALLBACK_RETRY_SCALE": "0.01",
    "SWITCHBOARD_AUTOMATION_CALLBACK_TIMEOUT_SECONDS": "1",
    "SWITCHBOARD_AUTOMATION_CALLBACK_POLL_SECONDS": "0.2",
}


async def test_a_queued_callback_survives_kill_9_and_arrives_once(
    tmp_path: Path, database_args: tuple[str, ...]
) -> None:
    receiver = await CallbackReceiver(fail_first={"/cb": 10_000}).start()
    server = await asyncio.to_thread(start_server, tmp_path, *database_args, env=ENV)
    try:
        identity = CommunicationIdentityClient.from_connection_string(
            server.connection_string, connection_verify=server.ca_path
        )
        nobody = await asyncio.to_thread(identity.create_user)  # no device: the call fails
        client = CallAutomationClient.from_connection_string(
            server.connection_string, connection_verify=server.ca_path
        )
        created = await asyncio.to_thread(
            client.create_call,
            CommunicationUserIdentifier(nobody.properties["id"]),
            receiver.url("/cb"),
            operation_context="before-the-crash",
        )
        async with asyncio.timeout(20):  # CreateCallFailed is queued and being tried
            while not receiver.received:
                receiver._changed.clear()
                await receiver._changed.wait()

        server = await asyncio.to_thread(server.crash_and_restart)
        receiver.fail_first.clear()  # the app is back
        await receiver.wait_for_events(1, within=30)
        await asyncio.sleep(1.0)  # a duplicate would come now
        events = [e for c in receiver.accepted for e in c.events]
        assert [e["type"] for e in events] == ["Microsoft.Communication.CreateCallFailed"]
        assert events[0]["data"]["operationContext"] == "before-the-crash"
        assert events[0]["data"]["callConnectionId"] == created.call_connection_id
        tried = {e["id"] for c in receiver.received for e in c.events}
        assert tried == {events[0]["id"]}  # every attempt sent the same event

        restarted = CallAutomationClient.from_connection_string(
            server.connection_string, connection_verify=server.ca_path
        )
        connection = restarted.get_call_connection(str(created.call_connection_id))
        properties = await asyncio.to_thread(connection.get_call_properties)
        assert properties.call_connection_state == "disconnected"
    finally:
        assert server.stop() == 0, "\n".join(server.output)
        await receiver.stop()
