"""Event Grid facts of group and Room calls (group_events.py) and their wire shape
(eventgrid.py), as ACS's AcsCallStarted/Ended/ParticipantAdded/Removed event data."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from switchboard.calling.conference.events import GroupCallEvents
from switchboard.calling.conference.group import ROOM_CLOSED
from switchboard.calling.conference.host import ConferenceHost
from switchboard.calling.conference.placement import LocalPlacement
from switchboard.calling.eventgrid import integration_event
from switchboard.calling.models import HUNG_UP
from switchboard.calling.routing.local import LocalCallRouter
from switchboard.calling.twoparty.session import LifecycleKind
from switchboard.core.clock import FakeClock
from switchboard.media.node import LocalMediaNode

T0 = 1000.0


@dataclass
class Someone:
    id: str
    user_id: str
    display_name: str = ""


ALICE = Someone("p1", "8:acs:alice", "Alice")
BOB = Someone("p2", "8:acs:bob")


def test_a_group_call_starts_with_its_first_member_and_ends_with_the_last() -> None:
    events = GroupCallEvents("group:g", group_id="g", room_id=None)
    facts = events.added(ALICE, None, T0)
    facts += events.added(BOB, None, T0 + 1)
    facts += events.removed(ALICE, None, T0 + 5)
    facts += events.removed(BOB, None, T0 + 9)
    facts += events.ended(HUNG_UP, BOB.user_id, T0 + 9)
    assert [f.kind for f in facts] == [
        LifecycleKind.CALL_STARTED,
        LifecycleKind.PARTICIPANT_ADDED,
        LifecycleKind.PARTICIPANT_ADDED,
        LifecycleKind.PARTICIPANT_REMOVED,
        LifecycleKind.PARTICIPANT_REMOVED,
        LifecycleKind.CALL_ENDED,
    ]
    assert {f.started_by for f in facts} == {ALICE.user_id}
    assert facts[-1].duration == 9
    assert len({f.correlation_id for f in facts}) == 1


def test_someone_never_admitted_produces_no_events() -> None:
    events = GroupCallEvents("room:1", group_id=None, room_id="1")
    assert events.removed(BOB, None, T0) == []  # left the lobby
    assert events.ended(HUNG_UP, None, T0) == []  # nobody ever got in


def test_each_run_of_the_same_group_call_has_its_own_correlation_id() -> None:
    first = GroupCallEvents("group:g", group_id="g", room_id=None)
    second = GroupCallEvents("group:g", group_id="g", room_id=None)
    assert first.correlation_id != second.correlation_id


def test_a_group_call_event_names_the_group_and_is_not_two_party() -> None:
    events = GroupCallEvents("group:g", group_id="g", room_id=None)
    started, added = (integration_event(f) for f in events.added(ALICE, None, T0))
    assert started.type == "Microsoft.Communication.CallStarted"
    assert started.data["group"] == {"id": "g"}
    assert started.data["room"] is None
    assert (started.data["isTwoParty"], started.data["isRoomsCall"]) == (False, False)
    assert started.data["serverCallId"] == "group:g"
    assert started.data["correlationId"] == events.correlation_id
    assert started.subject == f"call/group:g/startedBy/{ALICE.user_id}"
    assert added.data["displayName"] == "Alice"
    assert added.data["user"]["role"] == "Attendee"
    assert added.data["participantId"] == "p1"


def test_a_room_call_event_carries_the_room_and_the_members_roles() -> None:
    events = GroupCallEvents("room:42", group_id=None, room_id="42")
    facts = events.added(ALICE, "Presenter", T0) + events.added(BOB, "Consumer", T0)
    started, _, bob_added = (integration_event(f) for f in facts)
    assert started.data["room"] == {"id": "42"} and started.data["group"] is None
    assert started.data["isRoomsCall"] is True and started.data["isTwoParty"] is False
    assert started.data["startedBy"]["role"] == "Presenter"
    assert bob_added.data["user"]["role"] == "Consumer"
    [ended] = [integration_event(f) for f in events.ended(ROOM_CLOSED, None, T0 + 3)]
    assert ended.data["reason"] == ROOM_CLOSED.json()
    assert ended.data["endedBy"]["type"] == "MicrosoftInternal"


class RecordingPlacement(LocalPlacement):
    def __init__(self) -> None:
        self.renewed: asyncio.Queue[list[str]] = asyncio.Queue()

    async def renew(self, call_ids: list[str], node_id: str) -> None:
        self.renewed.put_nowait(call_ids)


@pytest.mark.anyio
async def test_the_owner_keeps_renewing_the_claims_of_the_calls_it_hosts() -> None:
    placement = RecordingPlacement()
    host = ConferenceHost(
        LocalCallRouter("node-a"),
        media=LocalMediaNode(),
        rooms=None,
        placement=placement,
        clock=FakeClock(T0),
        max_participants=10,
        renew_seconds=0.001,
    )
    host.conferences["group:g"] = None  # type: ignore[assignment]  # only its key is read
    await host.start()
    try:
        async with asyncio.timeout(5):
            assert await placement.renewed.get() == ["group:g"]
            assert await placement.renewed.get() == ["group:g"]  # and again
    finally:
        host.conferences.clear()
        await host.stop()
