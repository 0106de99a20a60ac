"""The official azure-communication-rooms SDK, sync and async, against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import pytest
from azure.communication.rooms import CommunicationUserIdentifier as User
from azure.communication.rooms import ParticipantRole, RoomParticipant, RoomsClient
from azure.communication.rooms.aio import RoomsClient as AsyncRoomsClient
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import AsyncHTTPPolicy, HTTPPolicy

from tests.integration.server import RunningServer

RESOURCE = "8:acs:00000000-0000-0000-0000-0000000000aa"
ALICE = User(f"{RESOURCE}_00000000-0000-0000-0000-000000000001")
BOB = User(f"{RESOURCE}_00000000-0000-0000-0000-000000000002")
CAROL = User(f"{RESOURCE}_00000000-0000-0000-0000-000000000003")
PAGE = {"maxPageSize": "2"}  # Switchboard's page-size extension, so a few rooms span pages


def at(**delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


def when(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def member(user: User, role: ParticipantRole = ParticipantRole.ATTENDEE) -> RoomParticipant:
    return RoomParticipant(communication_identifier=user, role=role)


def roster(participants: Any) -> dict[str, str]:
    return {p.communication_identifier.raw_id: str(p.role) for p in participants}


class SendTwice(HTTPPolicy[Any, Any]):
    """Sends each request twice, as a retry after a lost response would: same headers."""

    def __init__(self) -> None:
        super().__init__()
        self.responses: list[PipelineResponse[Any, Any]] = []

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        self.responses.append(self.next.send(request))
        self.responses.append(self.next.send(request))
        return self.responses[-1]


class AsyncSendTwice(AsyncHTTPPolicy[Any, Any]):
    def __init__(self) -> None:
        super().__init__()
        self.responses: list[PipelineResponse[Any, Any]] = []

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        self.responses.append(await self.next.send(request))
        self.responses.append(await self.next.send(request))
        return self.responses[-1]


@pytest.fixture
def client(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[RoomsClient]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
    with RoomsClient.from_connection_string(server.connection_string) as rooms:
        yield rooms


def test_room_lifecycle(client: RoomsClient) -> None:
    start, end = at(hours=1), at(days=30)
    room = client.create_room(
        valid_from=start,
        valid_until=end,
        pstn_dial_out_enabled=True,
        participants=[member(ALICE, ParticipantRole.PRESENTER), member(BOB)],
    )
    assert room.id.isdigit()
    assert abs(when(room.valid_from) - start) < timedelta(milliseconds=1)
    assert abs(when(room.valid_until) - end) < timedelta(milliseconds=1)
    assert room.pstn_dial_out_enabled is True
    assert when(room.created_at) <= datetime.now(UTC)

    fetched = client.get_room(room.id)
    assert vars(fetched) == vars(room)

    # update_room sends null for what it is not given: those keep their values.
    later = at(days=60)
    updated = client.update_room(room_id=room.id, valid_until=later)
    assert updated.valid_from == room.valid_from
    assert abs(when(updated.valid_until) - later) < timedelta(milliseconds=1)
    assert updated.pstn_dial_out_enabled is True
    toggled = client.update_room(room_id=room.id, pstn_dial_out_enabled=False)
    assert toggled.pstn_dial_out_enabled is False
    assert (toggled.valid_from, toggled.valid_until) == (updated.valid_from, updated.valid_until)

    client.delete_room(room.id)
    with pytest.raises(ResourceNotFoundError):
        client.get_room(room.id)


def test_default_window_is_now_plus_180_days(client: RoomsClient) -> None:
    room = client.create_room()
    assert when(room.valid_until) - when(room.valid_from) == timedelta(days=180)
    assert abs(when(room.valid_from) - datetime.now(UTC)) < timedelta(seconds=30)
    assert room.pstn_dial_out_enabled is False


def test_participants(client: RoomsClient) -> None:
    room = client.create_room(participants=[member(ALICE, ParticipantRole.PRESENTER)])
    client.add_or_update_participants(
        room_id=room.id,
        participants=[
            member(ALICE, ParticipantRole.CONSUMER),
            member(BOB, ParticipantRole.COLLABORATOR),
            member(CAROL),
        ],
    )
    assert roster(client.list_participants(room.id)) == {
        ALICE.raw_id: "Consumer",
        BOB.raw_id: "Collaborator",
        CAROL.raw_id: "Attendee",
    }
    pages = list(client.list_participants(room.id, params=PAGE).by_page())
    assert [len(list(page)) for page in pages] == [2, 1]
    # Removal takes identifiers or participants; a non-member is a no-op.
    ghost = User(f"{RESOURCE}_00000000-0000-0000-0000-000000000009")
    client.remove_participants(room_id=room.id, participants=[BOB, member(CAROL), ghost])
    assert roster(client.list_participants(room.id)) == {ALICE.raw_id: "Consumer"}


def test_list_rooms_spans_pages(client: RoomsClient) -> None:
    made = {client.create_room().id for _ in range(5)}
    # The database may hold other tests' rooms: three small pages prove nextLink works ...
    small = islice(client.list_rooms(params=PAGE).by_page(), 3)
    pages = [[room.id for room in page] for page in small]
    assert [len(page) for page in pages] == [2, 2, 2]
    assert len({room_id for page in pages for room_id in page}) == 6
    # ... and a full listing (default page size) contains every new room once.
    listed = [room.id for room in client.list_rooms()]
    assert made <= set(listed)
    assert len(listed) == len(set(listed))


def test_same_repeatability_id_gives_the_same_room(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
    twice = SendTwice()
    with RoomsClient.from_connection_string(
        server.connection_string, per_retry_policies=[twice]
    ) as rooms:
        room = rooms.create_room(participants=[member(ALICE)])
        first, second = (r.http_response for r in twice.responses)
        assert first.status_code == second.status_code == 201
        # A second run would have drawn a new random id: equal bodies mean it ran once.
        assert first.json() == second.json()
        assert second.json()["id"] == room.id
        assert second.headers["Repeatability-Result"] == "accepted"
        assert rooms.get_room(room.id).id == room.id


def test_errors(client: RoomsClient) -> None:
    with pytest.raises(ResourceNotFoundError):
        client.get_room("99000000000000001")
    with pytest.raises(ResourceNotFoundError):
        client.update_room(room_id="99000000000000001", pstn_dial_out_enabled=True)
    with pytest.raises(HttpResponseError) as caught:
        client.create_room(valid_from=at(days=2), valid_until=at(days=1))
    assert caught.value.status_code == 400
    assert caught.value.error is not None  # ACS names the field in a nested detail
    [detail] = caught.value.error.details
    assert (detail.code, detail.target) == ("BadArgument", "ValidUntil")
    with pytest.raises(HttpResponseError) as caught:
        client.create_room(valid_until=at(days=200))
    assert caught.value.status_code == 400
    room = client.create_room()
    with pytest.raises(HttpResponseError) as caught:
        client.update_room(room_id=room.id, valid_until=at(days=-1))
    assert caught.value.status_code == 400
    with pytest.raises(HttpResponseError) as caught:
        client.add_or_update_participants(
            room_id=room.id,
            participants=[member(ALICE, "Kafka")],  # type: ignore[arg-type]
        )
    assert caught.value.status_code == 400
    assert caught.value.error is not None and "Kafka" in str(caught.value.error.message)
    with pytest.raises(HttpResponseError) as caught:
        client.get_room("not-a-room")
    assert caught.value.status_code == 400


@pytest.mark.anyio
async def test_async_client_covers_every_operation(server: RunningServer) -> None:
    twice = AsyncSendTwice()
    async with AsyncRoomsClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path, per_retry_policies=[twice]
    ) as rooms:
        room = await rooms.create_room(participants=[member(ALICE, ParticipantRole.PRESENTER)])
        created = [r.http_response for r in twice.responses]
        assert [r.status_code for r in created] == [201, 201]
        assert created[0].json() == created[1].json()
        assert created[1].json()["id"] == room.id

    async with AsyncRoomsClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    ) as rooms:
        assert (await rooms.get_room(room.id)).id == room.id
        updated = await rooms.update_room(room_id=room.id, pstn_dial_out_enabled=True)
        assert updated.pstn_dial_out_enabled is True and updated.valid_from == room.valid_from
        await rooms.add_or_update_participants(room_id=room.id, participants=[member(BOB)])
        members = [p async for p in rooms.list_participants(room.id)]
        assert roster(members) == {ALICE.raw_id: "Presenter", BOB.raw_id: "Attendee"}
        await rooms.remove_participants(room_id=room.id, participants=[ALICE])
        members = [p async for p in rooms.list_participants(room.id)]
        assert roster(members) == {BOB.raw_id: "Attendee"}
        made = {(await rooms.create_room()).id for _ in range(4)}
        pages = []
        async for page in rooms.list_rooms(params=PAGE).by_page():
            pages.append([r.id async for r in page])
            if len(pages) == 3:
                break
        assert [len(page) for page in pages] == [2, 2, 2]
        listed = [r.id async for r in rooms.list_rooms()]
        assert made <= set(listed) and len(listed) == len(set(listed))
        await rooms.delete_room(room.id)
        with pytest.raises(ResourceNotFoundError):
            await rooms.get_room(room.id)
        with pytest.raises(HttpResponseError) as caught:
            await rooms.create_room(valid_from=at(days=1), valid_until=at(hours=1))
        assert caught.value.status_code == 400
        with pytest.raises(HttpResponseError) as caught:
            await rooms.add_or_update_participants(
                room_id=made.pop(),
                participants=[member(ALICE, "Kafka")],  # type: ignore[arg-type]
            )
        assert caught.value.status_code == 400
