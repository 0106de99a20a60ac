"""One PushProvider contract, held against Web Push, FCM, APNs and WNS, each talking to its
protocol-true fake on 127.0.0.1 (tests/push/fakes.py), which checks the credentials (VAPID,
the service-account assertion, the ES256 provider token, client credentials) and decrypts or
reads what it gets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from switchboard.push.models import Notification, NotificationKind, Outcome, PushKind
from tests.push.providers import KINDS, Wired, wired

pytestmark = pytest.mark.anyio

CALL = Notification(
    NotificationKind.INCOMING_CALL,
    {"callId": "c1", "callerId": "8:acs:r_a", "displayName": "Ann", "video": True},
    collapse_key="call:c1",
    ttl_seconds=45,
)
MESSAGE = Notification(
    NotificationKind.CHAT_MESSAGE,
    {"threadId": "19:t@thread.v2", "messageId": "1"},
    collapse_key="thread:19:t@thread.v2",
)


@pytest.fixture(params=KINDS)
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Wired]:
    async with wired(PushKind(request.param)) as pair:
        yield pair


async def test_the_service_gets_the_payload_the_app_handles(subject: Wired) -> None:
    device = subject.device()
    answer = await subject.provider.send(device, CALL)
    assert answer.outcome is Outcome.DELIVERED, str(answer)
    [pushed] = subject.service.received
    assert pushed.token == subject.fake_token(device)
    payload = pushed.payload
    if subject.kind is PushKind.FCM:  # FCM data values are strings
        assert payload["video"] == "true"
        payload = {**payload, "video": True}
    expected = {"type": "incomingCall", **CALL.data}
    assert {k: payload[k] for k in expected} == expected
    assert subject.service.errors == []


async def test_credentials_are_reused_across_notifications(subject: Wired) -> None:
    for _ in range(3):
        answer = await subject.provider.send(subject.device(), MESSAGE)
        assert answer.outcome is Outcome.DELIVERED, str(answer)
    assert len(subject.service.received) == 3
    issued = getattr(subject.service, "tokens_issued", 1)
    assert issued == 1


async def test_a_gone_device_is_a_dead_token(subject: Wired) -> None:
    device = subject.device()
    subject.service.dead.add(subject.fake_token(device))
    answer = await subject.provider.send(device, MESSAGE)
    assert answer.outcome is Outcome.DEAD_TOKEN, str(answer)


async def test_429_is_retried_after_what_the_service_asks(subject: Wired) -> None:
    subject.service.fail_next.append((429, "7"))
    answer = await subject.provider.send(subject.device(), MESSAGE)
    assert (answer.outcome, answer.status, answer.retry_after) == (Outcome.RETRY, 429, 7.0)


async def test_a_server_error_or_a_service_down_is_retried(subject: Wired) -> None:
    subject.service.fail_next.append((503, None))
    assert (await subject.provider.send(subject.device(), MESSAGE)).outcome is Outcome.RETRY
    device = subject.device()
    await subject.service.stop()
    answer = await subject.provider.send(device, MESSAGE)
    assert (answer.outcome, answer.status) == (Outcome.RETRY, 0)
