"""Issue 22's sans-I/O parts: the data frame (Hypothesis), who may open a sender and the
route it gets, and the node's bitrate policing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.calling.conference.data_senders import sender_route
from switchboard.calling.conference.media import ConferenceMedia
from switchboard.calling.errors import CallPermissionError, InvalidSignalError
from switchboard.calling.signaling.requests import DataChannelSender
from switchboard.media.data_frames import (
    DataFrame,
    DataFrameError,
    DataPriority,
    DataReliability,
    channel_of,
    is_close_mark,
    with_sender,
)
from switchboard.media.data_router import DataRoute, _Budget
from switchboard.rooms.models import ParticipantRole, permissions
from tests.unit.test_group_rules import ROOM, join, room_call
from tests.unit.test_media_negotiation import CHROMIUM_OFFER
from tests.unit.test_server_calls import FakeMediaNode

frames = st.builds(
    DataFrame,
    st.integers(0, 2**16 - 1),
    st.integers(0, 2**32 - 1),
    st.text(max_size=60),
    st.binary(max_size=300),
)


@given(frames)
def test_a_frame_survives_encoding(frame: DataFrame) -> None:
    assert DataFrame.decode(frame.encode()) == frame
    assert channel_of(frame.encode()) == frame.channel_id


@given(frames, st.text(min_size=1, max_size=60))
def test_the_node_writes_the_sender_into_a_participants_frame(
    frame: DataFrame, sender: str
) -> None:
    sent = DataFrame(frame.channel_id, frame.sequence, "", frame.payload).encode()
    forwarded = DataFrame.decode(with_sender(sent, sender.encode()))
    assert forwarded == DataFrame(frame.channel_id, frame.sequence, sender, frame.payload)


@given(st.binary(max_size=40))
def test_any_bytes_decode_to_a_frame_or_a_frame_error(data: bytes) -> None:
    try:
        frame = DataFrame.decode(data)
    except DataFrameError:
        return
    assert frame.encode() == data


def test_only_an_empty_frame_with_sequence_zero_closes_a_sender() -> None:
    assert is_close_mark(DataFrame(5, 0, "", b"").encode())
    assert not is_close_mark(DataFrame(5, 0, "", b"x").encode())
    assert not is_close_mark(DataFrame(5, 1, "", b"").encode())


def test_a_participant_cannot_claim_a_sender() -> None:
    claimed = DataFrame(1, 1, "someone-else", b"x").encode()
    with pytest.raises(DataFrameError):
        with_sender(claimed, b"p1")


def test_senders_get_routes_and_a_consumer_is_refused() -> None:
    call = room_call()
    presenter = join(call, "pia", ParticipantRole.PRESENTER)
    attendee = join(call, "abe", ParticipantRole.ATTENDEE)
    consumer = join(call, "con", ParticipantRole.CONSUMER)
    request = DataChannelSender(
        channel_id=5,
        reliability="durable",
        priority="high",
        bitrate_in_kbps=100,
        participant_ids=[attendee.id, presenter.id],
    )
    assert sender_route(call, presenter, request) == (
        5,
        DataRoute(DataReliability.DURABLE, frozenset({attendee.id}), DataPriority.HIGH, 200),
    )
    assert sender_route(call, attendee, DataChannelSender(channel_id=6)) == (
        6,
        DataRoute(DataReliability.LOSSY),
    )
    with pytest.raises(CallPermissionError):
        sender_route(call, consumer, DataChannelSender(channel_id=5))
    assert sender_route(call, consumer, DataChannelSender(channel_id=5, closed=True)) == (5, None)
    for bad in (
        DataChannelSender(channel_id=0),
        DataChannelSender(channel_id=4096),
        DataChannelSender(channel_id=1, reliability="reliable"),
        DataChannelSender(channel_id=1, priority="urgent"),
        DataChannelSender(channel_id=1, bitrate_in_kbps=0),
        DataChannelSender(channel_id=1, participant_ids=["nobody"]),
    ):
        with pytest.raises(InvalidSignalError):
            sender_route(call, presenter, bad)


def test_the_node_drops_what_goes_beyond_a_routes_bitrate() -> None:
    budget = _Budget(125.0, 0.0)  # 1 kbps: 125 bytes a second, one second's worth full
    assert budget.spend(100, 1, 0.0)
    assert not budget.spend(100, 1, 0.1)  # 25 + 12.5 left
    assert budget.spend(100, 1, 0.8)  # refilled at 125 bytes per second


@pytest.mark.anyio
async def test_a_sender_demoted_to_consumer_loses_its_routes() -> None:
    node = FakeMediaNode()
    call = room_call()
    member = join(call, "pia", ParticipantRole.PRESENTER)
    media = ConferenceMedia(call.call_id, node)
    await media.connect(member, CHROMIUM_OFFER, set())
    await media.set_data_route(member, 5, DataRoute(DataReliability.LOSSY))
    await media.set_data_route(member, 6, DataRoute(DataReliability.DURABLE))
    await media.set_data_route(member, 6, None)
    assert set(node.data_routes) == {(member.id, 5)}
    call.set_role(member, "Consumer", permissions(ParticipantRole.CONSUMER, ROOM))
    await media.sync_published(member)
    assert node.data_routes == {}
