"""No poison message in the SMS queues of a running server (issue 13).

What can never be carried is refused at the door (400 in the ACS error shape); an item that
got into a queue anyway (an older node, a row written by hand) fails once and is settled,
and the items queued around it go on at once rather than after a lease.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from azure.communication.phonenumbers import PhoneNumberCapabilityType, PhoneNumbersClient
from azure.communication.phonenumbers import PhoneNumberType as NumberType

from switchboard.sms.models import MAX_MESSAGE_CHARS
from switchboard.sms.simstore_sql import SqlSimulatorStore
from switchboard.sms.tables import sms_sim_pending
from switchboard.storage.database import Database
from tests.conftest import DATABASE_KINDS
from tests.integration.admin_http import signed_request
from tests.integration.server import RunningServer, start_server
from tests.integration.sms_helpers import buy_number, handset, handset_sends, wait_for_inbox

pytestmark = pytest.mark.anyio

TOO_LONG = "x" * 40_000  # 262 segments: no network concatenates that many
PROMPTLY = 10.0  # seconds; well under the simulator's 60 s lease of a stuck item


@dataclass
class Node:
    server: RunningServer
    database_url: str
    ours: str


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Node]:
    data_dir = tmp_path_factory.mktemp("sms-poison")
    url = f"sqlite+aiosqlite:///{(data_dir / 'switchboard.db').resolve()}"
    args: list[str] = []
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        args += ["--database-url", url]
    server = start_server(data_dir, *args)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
            numbers = PhoneNumbersClient.from_connection_string(server.connection_string)
            ours = buy_number(
                numbers, sms=PhoneNumberCapabilityType.INBOUND_OUTBOUND, kind=NumberType.TOLL_FREE
            )
        yield Node(server, url, ours)
    finally:
        assert server.stop() == 0, "\n".join(server.output)


@pytest.fixture
async def database(node: Node) -> AsyncIterator[Database]:
    """The server's own database, opened beside it (as ``switchboard sim`` does)."""
    db = Database(node.database_url)
    await db.start()
    try:
        yield db
    finally:
        await db.stop()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [("", "empty"), ("x" * (MAX_MESSAGE_CHARS + 1), f"longer than {MAX_MESSAGE_CHARS}")],
)
async def test_a_handset_message_no_network_could_carry_is_refused_with_an_acs_error(
    node: Node, text: str, complaint: str
) -> None:
    body = {"from": handset(), "to": node.ours, "message": text}
    response = await signed_request(node.server, "POST", "/admin/simulator/sms:send", body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["target"]) == ("BadRequest", "message")
    assert complaint in error["message"]


async def test_a_poison_inbound_item_is_settled_and_the_ones_around_it_arrive_promptly(
    node: Node, database: Database
) -> None:
    first, poisoned, last = handset(), handset(), handset()
    await handset_sends(node.server, first, node.ours, "HELP")
    # Past the API's checks: written straight into the simulator's queue, like a row left
    # by a node from before them. The sink fails on it every time it is handed over.
    await SqlSimulatorStore(database).inject_inbound(poisoned, node.ours, TOO_LONG, 0)
    await handset_sends(node.server, last, node.ours, "HELP")

    # HELP is answered automatically: an answer in the handset's inbox means it was taken.
    for phone in (first, last):
        [answer] = await wait_for_inbox(node.server, phone, 1, within=PROMPTLY)
        assert "Reply STOP" in answer["message"]

    # Items are handed over in order, so the poison one was settled before the last HELP.
    mine = sms_sim_pending.c.payload.contains(poisoned)
    async with database.read() as conn:
        left = (await conn.execute(sa.select(sa.func.count()).where(mine))).scalar()
    assert left == 0
