"""DeviceHub: the devices whose sockets live on this node, and the frames sent to them.

Every frame to a device gets the next ``seq`` of that device and is kept in a short replay
buffer, so a device that reconnects (same ``deviceId``, ``lastSeq``) within the grace period
gets what it missed, exactly once, and its calls go on (docs/calling-protocol.md).

The hub also remembers which calls each device is in and where each call lives (its owner
node), because requests about a call go to the owner; ``callEnded`` frames clear that.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict, defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from switchboard.calling.models import DeviceAddress
from switchboard.calling.signaling.frames import (
    CallConverted,
    CallEnded,
    CallMoved,
    ServerFrame,
    encode_frame,
)

REPLAY_FRAMES = 512  # frames kept per device for a reconnect
SEEN_REQUESTS = 256  # request ids remembered per device, to drop a resent duplicate


class DeviceConnection(Protocol):
    """The socket side of a device, as the hub drives it; every method returns at once."""

    def send(self, text: str) -> None: ...

    def close(self, code: int, reason: str) -> None: ...

    def recheck(self) -> None:
        """The user's tokens changed (revoked, identity deleted): check the token again."""
        ...


@dataclass(slots=True)
class LocalDevice:
    device_id: str
    user_id: str
    address: DeviceAddress
    connection: DeviceConnection | None = None
    calls: dict[str, str] = field(default_factory=dict)  # call id → owner node
    active: set[str] = field(default_factory=set)  # calls it placed or accepted
    next_seq: int = 1
    sent: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_FRAMES))
    seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    detached_at: float | None = None
    join_only: bool = False  # a voip.join token: joins calls and rooms, starts none

    @property
    def busy(self) -> bool:
        return bool(self.active)

    def first_time(self, request_id: str | None) -> bool:
        """False for a request id this device already sent (a resend after a reconnect)."""
        if request_id is None:
            return True
        if request_id in self.seen:
            return False
        self.seen[request_id] = None
        if len(self.seen) > SEEN_REQUESTS:
            self.seen.popitem(last=False)
        return True


@dataclass(frozen=True, slots=True)
class Registration:
    device: LocalDevice
    resumed: bool
    replaced: DeviceConnection | None  # an older socket of the same device, to close


class DeviceHub:
    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self._devices: dict[str, LocalDevice] = {}
        self._by_user: dict[str, set[str]] = defaultdict(set)

    def __len__(self) -> int:
        return len(self._devices)

    def get(self, device_id: str) -> LocalDevice | None:
        return self._devices.get(device_id)

    def of_user(self, user_id: str) -> Iterator[LocalDevice]:
        for device_id in tuple(self._by_user.get(user_id, ())):
            device = self._devices.get(device_id)
            if device is not None:
                yield device

    def register(
        self,
        user_id: str,
        device_id: str | None,
        last_seq: int | None,
        connection: DeviceConnection,
    ) -> Registration:
        existing = self._devices.get(device_id) if device_id else None
        if existing is not None and existing.user_id == user_id:
            replaced = existing.connection
            existing.connection = connection
            existing.detached_at = None
            for seq, text in existing.sent:
                if last_seq is None or seq > last_seq:
                    connection.send(text)
            return Registration(existing, True, replaced)
        # Unknown here (new, expired, or another user's id): a fresh device.
        new_id = device_id if device_id and existing is None else uuid.uuid4().hex
        device = LocalDevice(new_id, user_id, DeviceAddress(self.node_id, new_id), connection)
        self._devices[new_id] = device
        self._by_user[user_id].add(new_id)
        return Registration(device, False, None)

    def detach(self, device: LocalDevice, connection: DeviceConnection, now: float) -> bool:
        """The socket ended; False if the device already moved to a newer socket."""
        if device.connection is not connection:
            return False
        device.connection = None
        device.detached_at = now
        return True

    def remove(self, device: LocalDevice) -> None:
        self._devices.pop(device.device_id, None)
        ids = self._by_user.get(device.user_id)
        if ids is not None:
            ids.discard(device.device_id)
            if not ids:
                del self._by_user[device.user_id]

    def deliver(self, device_id: str, frame: ServerFrame) -> bool:
        """Number, keep and send one frame; False if the device is unknown here."""
        device = self._devices.get(device_id)
        if device is None:
            return False
        if isinstance(frame, CallEnded):
            device.calls.pop(frame.call_id, None)
            device.active.discard(frame.call_id)
        elif isinstance(frame, CallConverted):
            # The 1:1 call goes on as a server call of the same owner node: the device's
            # requests about it (its accept first) go there.
            owner = device.calls.pop(frame.call_id, None)
            if owner is not None:
                device.calls[frame.server_call_id] = owner
            if frame.call_id in device.active:
                device.active.discard(frame.call_id)
                device.active.add(frame.server_call_id)
        elif isinstance(frame, CallMoved):  # same owner: the device's requests follow it
            owner = device.calls.pop(frame.call_id, None)
            if owner is not None:
                device.calls[frame.to_call_id] = owner
            device.active.discard(frame.call_id)
        seq = device.next_seq
        device.next_seq += 1
        text = encode_frame(frame, seq).decode()
        device.sent.append((seq, text))
        if device.connection is not None:
            device.connection.send(text)
        return True
