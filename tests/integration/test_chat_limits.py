"""Chat limits are configurable; over a limit the SDK gets a 400 with a clear message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.communication.chat import ChatParticipant
from azure.core.exceptions import HttpResponseError

from tests.integration.chat_clients import ChatUsers, sync_sdk_trusting
from tests.integration.server import RunningServer, start_server

LIMITS = {
    "SWITCHBOARD_CHAT_MAX_MESSAGE_BYTES": "100",
    "SWITCHBOARD_CHAT_MAX_PARTICIPANTS": "4",
    "SWITCHBOARD_CHAT_MAX_PARTICIPANTS_PER_ADD": "2",
    "SWITCHBOARD_CHAT_MAX_PARTICIPANTS_FOR_TYPING_AND_RECEIPTS": "2",
}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatUsers]:
    data_dir: Path = tmp_path_factory.mktemp("limits")
    server: RunningServer = start_server(data_dir, env=LIMITS)
    with sync_sdk_trusting(server.ca_path):
        yield ChatUsers(server)
    assert server.stop() == 0


def refused(call: object) -> str:
    with pytest.raises(HttpResponseError) as caught:
        call()  # type: ignore[operator]  # a zero-argument callable
    assert caught.value.status_code == 400
    return str(caught.value.message)


def test_configured_limits_are_enforced_with_clear_messages(small: ChatUsers) -> None:
    _, token = small.new()
    chat = small.client(token)
    thread = chat.get_chat_thread_client(chat.create_chat_thread("small").chat_thread.id)
    thread.send_message("x" * 100)
    assert "limit is 100" in refused(lambda: thread.send_message("x" * 101))
    two = [ChatParticipant(identifier=small.new()[0]) for _ in range(2)]
    thread.add_participants(two)
    assert "At most 2" in refused(
        lambda: thread.add_participants(
            [ChatParticipant(identifier=small.new()[0]) for _ in range(3)]
        )
    )
    thread.add_participants([ChatParticipant(identifier=small.new()[0])])  # 4 in all
    assert "at most 4" in refused(
        lambda: thread.add_participants([ChatParticipant(identifier=small.new()[0])])
    )
    assert "more than 2" in refused(thread.send_typing_notification)
