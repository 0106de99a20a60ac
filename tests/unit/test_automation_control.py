"""AutomationControl: a control request accepted on one node runs on the node that has the call."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from switchboard.automation import control_ops as ops
from switchboard.automation.control import CallNotReachableError
from switchboard.automation.models import CallConnectionState, Participant
from switchboard.automation.store_memory import MemoryCallConnectionStore
from switchboard.bus.memory import MemoryBus
from switchboard.core.clock import FakeClock
from switchboard.core.errors import NotFoundError, SwitchboardError
from switchboard.core.identifiers import identifier_from_raw_id
from tests.unit.automation_fakes import ALICE, AutomationNode

pytestmark = pytest.mark.anyio

BOB = identifier_from_raw_id("8:acs:res_bob")
CALLBACK = "https://app.example/cb"


@pytest.fixture
async def nodes() -> AsyncIterator[tuple[AutomationNode, AutomationNode]]:
    bus, store, counter = MemoryBus(), MemoryCallConnectionStore(), itertools.count()
    await bus.start()
    made = [
        await AutomationNode.start(name, bus, store, FakeClock(), lambda: f"id{next(counter)}")
        for name in ("node-a", "node-b")
    ]
    yield made[0], made[1]
    for node in made:
        await node.stop()
    await bus.stop()


async def test_requests_on_the_other_node_reach_the_call_and_bring_back_its_answer(
    nodes: tuple[AutomationNode, AutomationNode],
) -> None:
    owner, other = nodes
    call = await owner.control.service.create_call([ALICE], CALLBACK)
    owner.plane.members[call.server_call_id] = [Participant(ALICE, is_muted=True)]

    seen = await other.control.service.get(call.call_connection_id)
    assert seen.server_call_id == call.server_call_id
    assert await other.control.participants(call.call_connection_id) == [
        Participant(ALICE, is_muted=True)
    ]
    added = await other.control.add_participant(
        ops.AddParticipant(call.call_connection_id, BOB.raw_id, operation_context="ctx")
    )
    assert added.participant.identifier == BOB and added.operation_context == "ctx"
    assert owner.plane.invites[-1][1] == BOB.raw_id
    assert other.plane.invites == []  # nothing rang from the node without the call

    await other.control.mute(call.call_connection_id, (ALICE.raw_id,))
    assert ("mute", ALICE.raw_id) in owner.plane.calls
    await other.control.hang_up(call.call_connection_id)
    assert ("leave", call.server_call_id) in owner.plane.calls
    ended = await other.control.service.get(call.call_connection_id)
    assert ended.state is CallConnectionState.DISCONNECTED


async def test_an_error_on_the_owner_comes_back_with_its_status_and_code(
    nodes: tuple[AutomationNode, AutomationNode],
) -> None:
    owner, other = nodes
    call = await owner.control.service.create_call([ALICE], CALLBACK)
    with pytest.raises(NotFoundError) as missing:
        await other.control.participant(call.call_connection_id, BOB.raw_id)
    assert missing.value.status == 404
    with pytest.raises(SwitchboardError) as refused:
        await other.control.add_participant(
            ops.AddParticipant(call.call_connection_id, BOB.raw_id, invitation_timeout_seconds=999)
        )
    assert refused.value.status == 400
    assert refused.value.target == "invitationTimeoutInSeconds"


async def test_a_call_whose_node_is_gone_is_not_reachable(
    nodes: tuple[AutomationNode, AutomationNode],
) -> None:
    owner, other = nodes
    call = await owner.control.service.create_call([ALICE], CALLBACK)
    await owner.control.stop()  # the owner no longer listens: as if it died
    with pytest.raises(CallNotReachableError):
        await other.control.terminate(call.call_connection_id)
