"""A group call's data-channel senders: who may open one, and the route the media node gets.

    dataChannelSender {channelId, reliability, participantIds?} ─▶ sender_route ─▶ checks:
        connected, role may send (a Room Consumer may not: 403 Forbidden), channel id in
        1–4095, known reliability/priority, named participants in the call
    ─▶ (channel id, DataRoute | None when ``closed``) ─▶ MediaNode.set_data_route

The messages themselves never pass through signaling (media/data_router.py forwards them).
"""

from __future__ import annotations

from switchboard.calling.conference.group import GroupCall, Member, MemberState
from switchboard.calling.errors import CallPermissionError, CallStateError, InvalidSignalError
from switchboard.calling.signaling.requests import DataChannelSender
from switchboard.media.data_frames import (
    MAX_BITRATE_KBPS,
    MAX_CHANNEL_ID,
    MIN_CHANNEL_ID,
    DataPriority,
    DataReliability,
)
from switchboard.media.data_router import DataRoute
from switchboard.rooms.models import Permission


def require_data_sender(member: Member) -> None:
    """Sending data is publishing: a Room Consumer receives only (as for media)."""
    if member.state is not MemberState.CONNECTED:
        raise CallStateError("Only a connected participant can send data.")
    if Permission.PUBLISH_MEDIA not in member.permissions:
        raise CallPermissionError("The participant's role does not allow sending data.")


def sender_route(
    group: GroupCall, member: Member, request: DataChannelSender
) -> tuple[int, DataRoute | None]:
    channel_id = request.channel_id
    if channel_id is None or not MIN_CHANNEL_ID <= channel_id <= MAX_CHANNEL_ID:
        raise InvalidSignalError(
            f"A data channel id is an integer from {MIN_CHANNEL_ID} to {MAX_CHANNEL_ID}."
        )
    if request.closed:
        return channel_id, None
    require_data_sender(member)
    try:
        reliability = DataReliability(request.reliability or "lossy")
        priority = DataPriority(request.priority or "normal")
    except ValueError:
        raise InvalidSignalError(
            "reliability is 'lossy' or 'durable'; priority is 'normal' or 'high'."
        ) from None
    bitrate = request.bitrate_in_kbps
    if bitrate is not None and not 0 < bitrate <= MAX_BITRATE_KBPS:
        raise InvalidSignalError(f"bitrateInKbps is from 1 to {MAX_BITRATE_KBPS}.")
    targets: frozenset[str] | None = None
    if request.participant_ids is not None:
        unknown = [i for i in request.participant_ids if i not in group.members]
        if unknown:
            raise InvalidSignalError(f"No participant {', '.join(unknown)} in the call.")
        targets = frozenset(request.participant_ids) - {member.id}
    # The node polices the sender's own cap, with room for the frame header and a burst.
    cap = None if bitrate is None else 2 * bitrate
    return channel_id, DataRoute(reliability, targets, priority, cap)
