"""What the calling tests share: a server without coturn, Python call agents on loopback,
group-call users with Rooms, and "hears this tone" checks.

Only tests of TURN itself start coturn (test_calling_media's coturn mode): everything else
runs against ``start_without_turn``, whose TURN port has nothing listening, so clients get no
ICE servers and connect over host candidates at once. Test modules that make calls import
``loopback_candidates`` (an autouse fixture) and list it in ``__all__``.
"""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Any

import aioice.ice
import pytest
from azure.communication.identity import CommunicationIdentityClient
from azure.communication.rooms import (
    CommunicationUserIdentifier,
    ParticipantRole,
    RoomParticipant,
    RoomsClient,
)
from azure.core.credentials import AzureKeyCredential

from switchboard.client.calling import Call, CallAgent, CallClient
from switchboard.client.calling.media import AudioProbe
from tests.free_ports import free_port
from tests.integration.server import RunningServer, start_server

TONES = [400.0, 520.0, 640.0, 760.0, 880.0, 1000.0]
LOUD_FRAMES = 20
CALL_TYPES = [
    f"Microsoft.Communication.{name}"
    for name in ("CallStarted", "CallEnded", "CallParticipantAdded", "CallParticipantRemoved")
]


@pytest.fixture(autouse=True)
def loopback_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice leaves 127.0.0.1 out of host candidates; these tests run on loopback only."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])


def closed_port() -> int:
    return free_port()  # below the ephemeral range: tests/free_ports.py


def start_without_turn(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> RunningServer:
    """A node whose TURN port answers nothing: its clients get no ICE servers."""
    return start_server(
        data_dir, *args, env={"SWITCHBOARD_TURN_PORT": str(closed_port()), **(env or {})}
    )


# ── hearing a tone ──────────────────────────────────────────────────────────────────────


async def hears(probe: AudioProbe, frequency: float, frames: int = LOUD_FRAMES) -> None:
    """Until ``frames`` more loud frames arrived and their frequency is ``frequency`` (±5%)."""
    start = probe.loud_frames

    def ok() -> bool:
        f = probe.frequency
        return (
            probe.loud_frames - start >= frames
            and f is not None
            and abs(f - frequency) < frequency * 0.05
        )

    while not ok():
        probe.changed.clear()
        await probe.changed.wait()


async def heard(call: Call, frequency: float, frames: int = 25) -> None:
    """A two-party call: until its remote audio carried ``frequency`` for ``frames`` frames."""
    assert call.media is not None
    await hears(call.media.audio, frequency, frames)


# ── group calls ─────────────────────────────────────────────────────────────────────────


class GroupUsers:
    """Users with call agents (each its own tone) on one server, and its Rooms API."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.identity = CommunicationIdentityClient.from_connection_string(
            server.connection_string, connection_verify=server.ca_path
        )
        self.agents: list[CallAgent] = []

    async def agent(self, tone: float, scopes: tuple[str, ...] = ("voip",)) -> CallAgent:
        user, token = self.identity.create_user_and_token(scopes=list(scopes))
        client = CallClient(self.server.endpoint, ssl=self.server.ca_path, tone_hz=tone)
        agent = await client.create_call_agent(token.token)
        self.agents.append(agent)
        assert agent.user_id == user.properties["id"]
        return agent

    def rooms(self) -> RoomsClient:
        return RoomsClient(
            self.server.endpoint,
            AzureKeyCredential(self.server.access_key),
            connection_verify=self.server.ca_path,
        )

    async def dispose(self) -> None:
        await asyncio.gather(*(a.dispose() for a in self.agents), return_exceptions=True)


def room_member(agent: CallAgent, role: ParticipantRole) -> RoomParticipant:
    return RoomParticipant(
        communication_identifier=CommunicationUserIdentifier(agent.user_id or ""), role=role
    )


async def make_room(
    users: GroupUsers, members: dict[CallAgent, ParticipantRole], **window: Any
) -> str:
    roster = [room_member(agent, role) for agent, role in members.items()]
    room = await asyncio.to_thread(users.rooms().create_room, participants=roster, **window)
    return str(room.id)


def present(call: Call, agent: CallAgent) -> bool:
    return any(p.user_id == agent.user_id for p in call.remote_participants.values())


def participant_of(call: Call, agent: CallAgent) -> str:
    for participant in call.remote_participants.values():
        if participant.user_id == agent.user_id:
            return participant.id
    raise AssertionError(f"{agent.user_id} is not in {call.remote_participants}")


async def all_hear_each_other(
    calls: list[Call], agents: list[CallAgent], tones: list[float]
) -> None:
    checks = []
    for i, call in enumerate(calls):
        for j, other in enumerate(agents):
            if i != j:
                await call.wait_for(partial(_present_in, agent=other))
                checks.append(hears(call.audio_of(participant_of(call, other)), tones[j]))
    await asyncio.gather(*checks)


def _present_in(call: Call, *, agent: CallAgent) -> bool:
    return present(call, agent)
