"""Callbacks end to end, in process: AutomationCallbacks on SQLite and PostgreSQL POSTing to a
real HTTP receiver on 127.0.0.1, in order per call through retries, each request's bearer
token verified as an app would (docs/automation-callbacks.md): PyJWT's PyJWKClient fetching
our JWKS over TLS from the OpenID routes served by uvicorn."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import urllib.request
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import uvicorn
from azure.core.messaging import CloudEvent
from starlette.applications import Starlette

from switchboard.automation.callbacks import AutomationCallbacks
from switchboard.automation.callbacks_events import CallbackEvent, ResultInformation
from switchboard.automation.callbacks_sql import SqlCallbackQueue
from switchboard.automation.callbacks_tables import (
    automation_callback_streams,
    automation_callbacks,
)
from switchboard.automation.openid_routes import openid_routes
from switchboard.core.clock import SystemClock
from switchboard.core.config import Mode
from switchboard.core.sections import AutomationConfig, ServerConfig
from switchboard.http.tls import client_ssl_context, ensure_tls_material
from switchboard.storage.database import Database
from switchboard.storage.secrets import SqlSecretStore
from tests.callback_receiver import CallbackReceiver

pytestmark = pytest.mark.anyio

RESOURCE_ID = str(uuid.uuid4())
FAST = AutomationConfig(callback_retry_scale=0.001, callback_poll_seconds=0.2)


@dataclass
class OpenIdServer:
    issuer: str
    context: ssl.SSLContext


@pytest.fixture
async def receiver() -> AsyncIterator[CallbackReceiver]:
    running = await CallbackReceiver().start()
    yield running
    await running.stop()


@pytest.fixture
async def clean_database(database: Database) -> Database:
    async with database.write() as conn:  # PostgreSQL is shared by the session
        await conn.execute(automation_callbacks.delete())
        await conn.execute(automation_callback_streams.delete())
    return database


@pytest.fixture
async def issuer_socket() -> AsyncIterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


@pytest.fixture
async def callbacks(
    clean_database: Database, issuer_socket: socket.socket
) -> AsyncIterator[AutomationCallbacks]:
    issuer = f"https://127.0.0.1:{issuer_socket.getsockname()[1]}"
    started = await AutomationCallbacks.start(
        FAST,
        ServerConfig(mode=Mode.DEVELOPMENT),
        SqlCallbackQueue(clean_database),
        SqlSecretStore(clean_database),
        clock=SystemClock(),
        resource_id=RESOURCE_ID,
        issuer=issuer,
    )
    yield started
    await started.stop()


@pytest.fixture
async def openid(
    callbacks: AutomationCallbacks, issuer_socket: socket.socket, tmp_path: Path
) -> AsyncIterator[OpenIdServer]:
    tls = ensure_tls_material(tmp_path / "tls", ["127.0.0.1"])
    app = Starlette(routes=openid_routes(callbacks.signer))
    config = uvicorn.Config(
        app,
        ssl_certfile=str(tls.cert),
        ssl_keyfile=str(tls.key),
        lifespan="off",
        log_config=None,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[issuer_socket]))
    while not server.started and not task.done():  # noqa: ASYNC110  # uvicorn has no event
        await asyncio.sleep(0.02)
    yield OpenIdServer(callbacks.signer.issuer, client_ssl_context(tls))
    server.should_exit = True
    await task


def connected(call: str, n: int = 0) -> CallbackEvent:
    return CallbackEvent(
        "CallConnected",
        call_connection_id=call,
        server_call_id=f"server:{call}",
        correlation_id=f"corr-{call}",
        operation_context=f"op-{n}",
        result_information=ResultInformation(200, 0, "ok"),
    )


def verify(token: str, server: OpenIdServer) -> dict[str, Any]:
    """The recipe of docs/automation-callbacks.md (blocking: run it in a thread)."""
    metadata_url = server.issuer + "/calling/.well-known/acsopenidconfiguration"
    with urllib.request.urlopen(metadata_url, context=server.context) as answer:
        metadata = json.load(answer)
    keys = jwt.PyJWKClient(metadata["jwks_uri"], ssl_context=server.context)
    claims: dict[str, Any] = jwt.decode(
        token,
        keys.get_signing_key_from_jwt(token).key,
        algorithms=["RS256"],
        issuer=metadata["issuer"],
        audience=RESOURCE_ID,
    )
    return claims


async def test_callbacks_arrive_signed_in_order_per_call_through_retries(
    callbacks: AutomationCallbacks, openid: OpenIdServer, receiver: CallbackReceiver
) -> None:
    receiver.fail_first = {"/a": 2}  # call a's first batch needs three attempts
    calls = {"a": "/a", "b": "/b"}
    for n in range(3):
        for call, path in calls.items():
            seq = await callbacks.enqueue(
                call, receiver.url(path), [connected(call, n), connected(call, n + 10)]
            )
            assert seq == n + 1
    await receiver.wait_for_events(12)

    for call, path in calls.items():
        contexts = [
            e["data"]["operationContext"]
            for c in receiver.accepted
            if c.path == path
            for e in c.events
        ]
        assert contexts == ["op-0", "op-10", "op-1", "op-11", "op-2", "op-12"], call
    a_attempts = [c for c in receiver.received if c.path == "/a"]
    assert len(a_attempts) == 5
    assert a_attempts[0].body == a_attempts[2].body  # a retry sends the same events (same ids)

    for callback in receiver.accepted:
        assert callback.headers["content-type"] == "application/json"
        for item in callback.events:
            assert CloudEvent.from_dict(item).type == "Microsoft.Communication.CallConnected"
    claims = await asyncio.to_thread(verify, receiver.accepted[-1].bearer, openid)
    assert claims["exp"] - claims["iat"] == 300
    tokens = {c.bearer for c in receiver.received}
    assert len(tokens) == len(receiver.received)  # a fresh token per request


async def test_a_rejected_batch_is_dropped_and_the_call_goes_on(
    callbacks: AutomationCallbacks, receiver: CallbackReceiver
) -> None:
    receiver.fail_first = {"/gone": 1}
    receiver.failure_status = 404
    await callbacks.enqueue("c", receiver.url("/gone"), [connected("c", 0)])
    await callbacks.enqueue("c", receiver.url("/gone"), [connected("c", 1)])
    await receiver.wait_for_events(1)
    assert [c.events[0]["data"]["operationContext"] for c in receiver.received] == ["op-0", "op-1"]
    assert [c.events[0]["data"]["operationContext"] for c in receiver.accepted] == ["op-1"]


async def test_a_token_from_another_deployment_fails_the_recipe(
    callbacks: AutomationCallbacks, openid: OpenIdServer, tmp_path: Path
) -> None:
    other = Database(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    await other.start()
    try:
        stranger = await AutomationCallbacks.start(
            FAST,
            ServerConfig(mode=Mode.DEVELOPMENT),
            SqlCallbackQueue(other),
            SqlSecretStore(other),
            clock=SystemClock(),
            resource_id=RESOURCE_ID,
            issuer=openid.issuer,
        )
        await stranger.stop()
    finally:
        await other.stop()
    with pytest.raises(jwt.PyJWKClientError):  # its key is not in our JWKS
        await asyncio.to_thread(verify, stranger.signer.token(), openid)
