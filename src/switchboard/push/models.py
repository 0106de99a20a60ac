"""Push registrations, notifications and the outbox's jobs: plain values, no I/O.

A registration is one device of one user at one provider (``PushKind``): the provider's
address of the device (an FCM or APNs token, a WNS channel URI, a Web Push endpoint with its
keys), the app it belongs to (APNs topic, FCM project), and when it expires unless the app
registers it again.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from switchboard.core.errors import BadRequestError, NotFoundError


class PushKind(StrEnum):
    WEBPUSH = "webpush"
    FCM = "fcm"
    APNS = "apns"
    WNS = "wns"


class NotificationKind(StrEnum):
    INCOMING_CALL = "incomingCall"
    CALL_CANCELLED = "callCancelled"  # answered elsewhere, cancelled, timed out
    CHAT_MESSAGE = "chatMessageReceived"
    CHAT_THREAD = "chatThreadEvent"  # the thread's other events ACS pushes (members, topic…)
    TEST = "test"

    @property
    def is_call(self) -> bool:
        return self in (NotificationKind.INCOMING_CALL, NotificationKind.CALL_CANCELLED)


class Outcome(StrEnum):
    """What a provider made of one notification."""

    DELIVERED = "delivered"  # the provider took it
    RETRY = "retry"  # try again later (5xx, 429, a refused connection)
    DEAD_TOKEN = "deadToken"  # the device is gone: forget the registration
    REJECTED = "rejected"  # the provider refused this notification for good (4xx)


class PushRegistrationError(BadRequestError):
    code = "InvalidPushRegistration"


class PushRegistrationNotFoundError(NotFoundError):
    code = "PushRegistrationNotFound"


@dataclasses.dataclass(frozen=True, slots=True)
class Registration:
    user_id: str
    device_id: str
    kind: PushKind
    token: str  # FCM / APNs device token, WNS channel URI, Web Push endpoint
    app_id: str = ""  # APNs topic (bundle id); FCM project id; empty: the configured one
    p256dh: str = ""  # Web Push: the subscription's public key (base64url)
    auth: str = ""  # Web Push: the subscription's auth secret (base64url)
    created_ms: int = 0
    expires_ms: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class Notification:
    """What one push says; ``data`` is the payload the app's handler receives."""

    kind: NotificationKind
    data: Mapping[str, Any]
    collapse_key: str | None = None  # a newer one replaces an older one on the device
    ttl_seconds: int = 60
    title: str = ""  # shown by providers that display (FCM/WNS toast); calls carry none

    def payload(self) -> dict[str, Any]:
        """The JSON object the device's handler gets (``handlePushNotification``)."""
        return {"type": self.kind.value, **self.data}

    def encode(self) -> str:
        return json.dumps(
            {
                "kind": self.kind.value,
                "data": dict(self.data),
                "collapseKey": self.collapse_key,
                "ttl": self.ttl_seconds,
                "title": self.title,
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str) -> Notification:
        raw = json.loads(text)
        return cls(
            NotificationKind(raw["kind"]),
            raw["data"],
            raw.get("collapseKey"),
            int(raw.get("ttl", 60)),
            raw.get("title", ""),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class PushJob:
    """One notification owed to one device: an outbox row until a provider took it."""

    id: str
    user_id: str
    device_id: str
    notification: Notification
    created_ms: int
    attempts: int = 0
    due_ms: int = 0
    claim: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class ProviderAnswer:
    outcome: Outcome
    status: int  # the provider's HTTP status (0: no answer)
    detail: str = ""  # its reason or body, for logs and `switchboard push test`
    retry_after: float | None = None  # seconds, from Retry-After

    def __str__(self) -> str:
        extra = f" {self.detail}" if self.detail else ""
        return f"{self.outcome.value} (HTTP {self.status}){extra}"
