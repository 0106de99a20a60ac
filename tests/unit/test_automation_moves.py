"""moveParticipants and hold in Call Automation on fake call planes, over two nodes: the move
runs on the target call's node, its outcome is MoveParticipantSucceeded/Failed, and what it
refuses (another node's call, an unknown or ended one, someone not in it)."""

from __future__ import annotations

import asyncio

import pytest

from switchboard.automation import control_ops as ops
from switchboard.automation.models import Participant
from switchboard.automation.ports import (
    CallPlaneEnded,
    EndReason,
    InviteAccepted,
    InviteFailed,
)
from switchboard.core.errors import SwitchboardError
from switchboard.core.identifiers import identifier_from_raw_id
from switchboard.media.endpoint.models import TextSource
from tests.unit.automation_fakes import ALICE, AutomationNode
from tests.unit.test_automation_control import nodes

pytestmark = pytest.mark.anyio
__all__ = ["nodes"]  # the fixture

BOB = identifier_from_raw_id("8:acs:res_bob")
CALLBACK = "https://app.example/cb"


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_move_runs_on_the_target_node_and_reports_its_outcome(
    nodes: tuple[AutomationNode, AutomationNode],
) -> None:
    owner, other = nodes
    source = await owner.service.create_call([ALICE], CALLBACK)
    target = await owner.service.create_call([BOB], CALLBACK)
    owner.plane.members[source.server_call_id] = [Participant(ALICE), Participant(BOB)]
    owner.plane.members[target.server_call_id] = [Participant(BOB)]

    now_in = await other.control.move_participants(  # asked through the other node
        ops.MoveOp(
            target.call_connection_id,
            (ALICE.raw_id,),
            source.call_connection_id,
            operation_context="mv",
        )
    )
    assert now_in == [Participant(BOB)]
    moved = f"{source.server_call_id}>{target.server_call_id}:{ALICE.raw_id}"
    assert ("move", moved) in owner.plane.calls
    invitation = owner.plane.invites[-1][2]
    owner.plane.listeners[target.server_call_id](InviteAccepted(invitation, Participant(ALICE)))
    await settle()
    [succeeded] = [e for _, _, e in owner.callbacks.sent if e.type == "MoveParticipantSucceeded"]
    assert succeeded.operation_context == "mv"
    assert succeeded.data == {"participant": ALICE, "fromCall": source.call_connection_id}
    assert succeeded.result is not None and succeeded.result.code == 200

    await other.control.move_participants(
        ops.MoveOp(target.call_connection_id, (BOB.raw_id,), source.call_connection_id)
    )
    late = owner.plane.invites[-1][2]
    owner.plane.listeners[target.server_call_id](
        InviteFailed(late, EndReason(487, 10004, "did not rejoin"))
    )
    await settle()
    [failed] = [e for _, _, e in owner.callbacks.sent if e.type == "MoveParticipantFailed"]
    assert failed.data == {"participant": BOB, "fromCall": source.call_connection_id}
    assert failed.result == EndReason(487, 10004, "did not rejoin")


async def test_bad_moves_are_refused_with_acs_errors(
    nodes: tuple[AutomationNode, AutomationNode],
) -> None:
    owner, other = nodes
    target = await owner.service.create_call([BOB], CALLBACK)
    elsewhere = await other.service.create_call([ALICE], CALLBACK)
    other.plane.members[elsewhere.server_call_id] = [Participant(ALICE)]
    here = await owner.service.create_call([ALICE], CALLBACK)
    owner.plane.members[here.server_call_id] = [Participant(ALICE)]

    async def refused(from_call: str, who: str = ALICE.raw_id) -> tuple[int, str]:
        with pytest.raises(SwitchboardError) as error:
            await owner.control.move_participants(
                ops.MoveOp(target.call_connection_id, (who,), from_call)
            )
        return error.value.status, error.value.error_code

    assert await refused(elsewhere.call_connection_id) == (400, "MoveAcrossNodesNotSupported")
    assert (await refused("no-such-call"))[0] == 404
    assert (await refused(here.call_connection_id, BOB.raw_id))[0] == 404
    assert (await refused(target.call_connection_id))[0] == 400  # into the call it is in
    owner.plane.listeners[here.server_call_id](CallPlaneEnded(EndReason(0, 0)))
    await settle()
    assert await refused(here.call_connection_id) == (400, "CallNotActive")
    assert not [c for c in owner.plane.calls if c[0] == "move"]


async def test_hold_holds_on_the_call_and_plays_the_hold_audio(
    nodes: tuple[AutomationNode, AutomationNode],
) -> None:
    owner, _ = nodes
    call = await owner.service.create_call([ALICE], CALLBACK)
    owner.plane.members[call.server_call_id] = [Participant(ALICE)]
    music = TextSource("please hold")
    await owner.control.media(ops.HoldOp(call.call_connection_id, ALICE.raw_id, True, music))
    await owner.control.media(ops.HoldOp(call.call_connection_id, ALICE.raw_id, False))
    assert [c for c in owner.plane.calls if c[0] in ("hold", "unhold")] == [
        ("hold", ALICE.raw_id),
        ("unhold", ALICE.raw_id),
    ]
    media = owner.plane.media[call.server_call_id]
    assert media.asked == [("hold", (ALICE.raw_id, music)), ("unhold", ALICE.raw_id)]
    with pytest.raises(SwitchboardError) as missing:
        await owner.control.media(ops.HoldOp(call.call_connection_id, BOB.raw_id, True))
    assert missing.value.status == 404
