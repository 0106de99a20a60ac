"""Repeatability over HTTP: a tiny Starlette app driven in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchboard.core.clock import FakeClock, to_datetime
from switchboard.http.context import RequestContextMiddleware
from switchboard.http.json import json_response
from switchboard.http.repeatability import Repeatability
from switchboard.storage import Database
from switchboard.storage.repeatability import SqlRepeatabilityStore

pytestmark = pytest.mark.anyio

DAY = 24 * 3600


@dataclass
class Things:
    """The app under test: POST /things counts how often its handler really ran."""

    repeatability: Repeatability
    runs: int = 0
    fail_next: bool = False
    pause: float = 0.0
    app: Starlette = field(init=False)

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[Route("/things", self.create, methods=["POST"])],
            middleware=[Middleware(RequestContextMiddleware)],
        )

    async def create(self, request: Request) -> Response:
        return await self.repeatability.run(request, "things.create:alice", self.handle)

    async def handle(self) -> Response:
        self.runs += 1
        count = self.runs
        await asyncio.sleep(self.pause)  # lets concurrent twins overlap
        if self.fail_next:
            self.fail_next = False
            return json_response({"error": {"code": "Busy", "message": "Try later."}}, 503)
        return json_response({"count": count}, 201, {"Location": f"/things/{count}"})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(database: Database) -> SqlRepeatabilityStore:
    return SqlRepeatabilityStore(database)


@pytest.fixture
def things(store: SqlRepeatabilityStore, clock: FakeClock) -> Things:
    return Things(Repeatability(store, clock))


@pytest.fixture
async def client(things: Things) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=things.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def first_sent(clock: FakeClock, ago: float = 0.0) -> str:
    return format_datetime(to_datetime(clock.now()) - timedelta(seconds=ago), usegmt=True)


async def test_repeated_request_replays_the_first_response(
    client: httpx.AsyncClient, things: Things, clock: FakeClock
) -> None:
    request_id = str(uuid.uuid4())
    headers = {
        "Repeatability-Request-ID": request_id,
        "Repeatability-First-Sent": first_sent(clock),
    }
    first = await client.post("/things", headers=headers)
    clock.advance(30)
    # Chat sends the header in lower case; the name is case-insensitive.
    again = await client.post("/things", headers={"repeatability-request-id": request_id})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() == {"count": 1}
    assert first.headers["location"] == again.headers["location"] == "/things/1"
    assert again.headers["content-type"] == "application/json; charset=utf-8"
    assert first.headers["repeatability-result"] == "accepted"
    assert again.headers["repeatability-result"] == "accepted"
    assert things.runs == 1


async def test_request_without_id_runs_every_time(
    client: httpx.AsyncClient, things: Things
) -> None:
    first = await client.post("/things")
    second = await client.post("/things")
    assert [first.json(), second.json()] == [{"count": 1}, {"count": 2}]
    assert "repeatability-result" not in first.headers
    assert things.runs == 2


async def test_different_ids_run_separately(client: httpx.AsyncClient, things: Things) -> None:
    for _ in range(2):
        await client.post("/things", headers={"Repeatability-Request-ID": str(uuid.uuid4())})
    assert things.runs == 2


async def test_rooms_style_uuid1_with_first_sent_is_accepted(
    client: httpx.AsyncClient, things: Things, clock: FakeClock
) -> None:
    headers = {
        "Repeatability-Request-Id": str(uuid.uuid1()),
        "Repeatability-First-Sent": first_sent(clock, ago=60),
    }
    responses = [await client.post("/things", headers=headers) for _ in range(3)]
    assert {r.status_code for r in responses} == {201}
    assert things.runs == 1


@pytest.mark.parametrize(
    "bad_id", ["not-a-uuid", "", "12345", "0f2c9a4e-3b1d-4c6a-9e8f-5d7b2a1c0e93x"]
)
async def test_invalid_repeatability_id_is_a_400_in_acs_error_shape(
    client: httpx.AsyncClient, things: Things, bad_id: str
) -> None:
    response = await client.post("/things", headers={"Repeatability-Request-ID": bad_id})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "InvalidRepeatabilityRequestId"
    assert error["message"]
    assert things.runs == 0


async def test_unparseable_first_sent_is_a_400(client: httpx.AsyncClient, things: Things) -> None:
    headers = {"Repeatability-Request-ID": str(uuid.uuid4()), "Repeatability-First-Sent": "soon"}
    response = await client.post("/things", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidRepeatabilityFirstSent"
    assert things.runs == 0


async def test_stale_first_sent_is_refused(
    client: httpx.AsyncClient, things: Things, clock: FakeClock
) -> None:
    headers = {
        "Repeatability-Request-ID": str(uuid.uuid4()),
        "Repeatability-First-Sent": first_sent(clock, ago=DAY + 60),
    }
    response = await client.post("/things", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidRepeatabilityFirstSent"
    assert things.runs == 0


async def test_server_errors_are_not_remembered(client: httpx.AsyncClient, things: Things) -> None:
    headers = {"Repeatability-Request-ID": str(uuid.uuid4())}
    things.fail_next = True
    failed = await client.post("/things", headers=headers)
    retried = await client.post("/things", headers=headers)
    assert (failed.status_code, retried.status_code) == (503, 201)
    assert "repeatability-result" not in failed.headers
    assert things.runs == 2


async def test_concurrent_twins_get_one_outcome(client: httpx.AsyncClient, things: Things) -> None:
    things.pause = 0.05
    headers = {"Repeatability-Request-ID": str(uuid.uuid4())}
    a, b = await asyncio.gather(
        client.post("/things", headers=headers), client.post("/things", headers=headers)
    )
    assert (a.status_code, a.content, a.headers["location"]) == (
        b.status_code,
        b.content,
        b.headers["location"],
    )
    assert things.runs == 1  # twins on one node queue behind each other


async def test_concurrent_twins_on_two_nodes_get_one_outcome(
    store: SqlRepeatabilityStore, clock: FakeClock
) -> None:
    # Two nodes share only the database, so both may run the handler; put() picks one outcome.
    nodes = [Things(Repeatability(store, clock), pause=0.05) for _ in range(2)]
    headers = {"Repeatability-Request-ID": str(uuid.uuid4())}
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=n.app), base_url="http://test")
        for n in nodes
    ]
    try:
        a, b = await asyncio.gather(*(c.post("/things", headers=headers) for c in clients))
    finally:
        for c in clients:
            await c.aclose()
    assert [n.runs for n in nodes] == [1, 1]  # both really ran: the twin path was taken
    assert a.status_code == b.status_code == 201
    assert a.content == b.content


async def test_pruned_responses_are_forgotten(
    client: httpx.AsyncClient, things: Things, clock: FakeClock
) -> None:
    headers = {"Repeatability-Request-ID": str(uuid.uuid4())}
    await client.post("/things", headers=headers)
    await things.repeatability.prune()  # still within retention: kept
    assert (await client.post("/things", headers=headers)).json() == {"count": 1}
    clock.advance(DAY + 1)
    assert await things.repeatability.prune() >= 1
    again = await client.post("/things", headers=headers)
    assert again.json() == {"count": 2}
