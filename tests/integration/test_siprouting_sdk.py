"""The official SipRoutingClient (azure-communication-phonenumbers, sync and async) against a
real server over TLS, on SQLite and PostgreSQL: every method, ACS's error shapes, our own
trunk settings kept across the SDK's PATCHes, and a trunk set through the SDK reaching the
node's SIP gateway at once (it sends the new trunk OPTIONS, and /metrics shows the trunk; no
restart)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest
from azure.communication.phonenumbers.siprouting import SipRoutingClient, SipTrunk, SipTrunkRoute
from azure.communication.phonenumbers.siprouting.aio import (
    SipRoutingClient as AsyncSipRoutingClient,
)
from azure.core.exceptions import HttpResponseError

from switchboard.cli import main
from tests.conftest import DATABASE_KINDS
from tests.integration.server import RunningServer, start_server
from tests.integration.sip_routing_servers import SipPeer, database_args, free_udp_port, sip_env

A, B, C = "sbc-a.example.com", "sbc-b.example.com", "sbc-c.example.com"


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def routed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, int]]:
    sip_port = free_udp_port()
    with database_args(request.param) as args:
        running = start_server(tmp_path_factory.mktemp("sip-routing"), *args, env=sip_env(sip_port))
        yield running, sip_port
        assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture
def client(routed: tuple[RunningServer, int]) -> Iterator[SipRoutingClient]:
    server, _ = routed
    sip = SipRoutingClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    sip.set_routes([])  # each test starts from an empty table
    sip.set_trunks([])
    yield sip
    sip.close()


def trunks_of(sip: SipRoutingClient) -> dict[str, int]:
    return {t.fqdn: t.sip_signaling_port for t in sip.list_trunks()}


def refused(call: object) -> tuple[int, str, str]:
    """(status, code, inner code) of the HttpResponseError a call raises."""
    with pytest.raises(HttpResponseError) as error:
        call()  # type: ignore[operator]
    inner = error.value.error.innererror if error.value.error else None
    assert error.value.error is not None
    return error.value.status_code or 0, error.value.error.code or "", (inner or {}).get("code", "")


def test_every_method_reads_and_writes_the_table(client: SipRoutingClient) -> None:
    assert list(client.list_trunks()) == [] and list(client.list_routes()) == []
    client.set_trunks(
        [SipTrunk(fqdn=A, sip_signaling_port=5061), SipTrunk(fqdn=B, sip_signaling_port=5062)]
    )
    assert trunks_of(client) == {A: 5061, B: 5062}
    assert client.get_trunk(B).sip_signaling_port == 5062
    with pytest.raises(KeyError):
        client.get_trunk(C)

    client.set_trunk(SipTrunk(fqdn=B, sip_signaling_port=6062))  # changes one, adds none
    client.set_trunk(SipTrunk(fqdn=C, sip_signaling_port=5063))
    assert trunks_of(client) == {A: 5061, B: 6062, C: 5063}

    routes = [
        SipTrunkRoute(
            name="us", description="N. America", number_pattern=r"\+1[0-9]{10}", trunks=[A, B]
        ),
        SipTrunkRoute(name="any", number_pattern="^+[1-9][0-9]{3,23}$", trunks=[C]),
    ]
    client.set_routes(routes)
    listed = [(r.name, r.description, r.number_pattern, r.trunks) for r in client.list_routes()]
    assert listed == [
        ("us", "N. America", r"\+1[0-9]{10}", [A, B]),
        ("any", None, "^+[1-9][0-9]{3,23}$", [C]),
    ]

    client.delete_trunk("never-there.example.com")  # as ACS: no error
    client.set_routes([routes[0]])
    client.delete_trunk(C)
    client.set_trunks(
        [SipTrunk(fqdn=A, sip_signaling_port=5061), SipTrunk(fqdn=B, sip_signaling_port=5062)]
    )
    assert trunks_of(client) == {A: 5061, B: 5062}
    assert [r.name for r in client.list_routes()] == ["us"]


def test_bad_input_gets_acs_errors(client: SipRoutingClient) -> None:
    client.set_trunk(SipTrunk(fqdn=A, sip_signaling_port=5061))
    assert refused(lambda: client.set_trunk(SipTrunk(fqdn="-1", sip_signaling_port=5061))) == (
        422,
        "UnprocessableConfiguration",
        "InvalidTrunkFqdn",
    )
    for bad in (SipTrunk(fqdn=B, sip_signaling_port=p) for p in (0, 70000)):
        assert refused(lambda: client.set_trunk(bad))[2] == "InvalidTrunkSipSignalingPort"  # noqa: B023

    def routes(*entries: SipTrunkRoute) -> object:
        return lambda: client.set_routes(list(entries))

    assert (
        refused(routes(SipTrunkRoute(name="r", number_pattern=".*", trunks=[B])))[2]
        == "MissingTrunk"
    )
    assert refused(routes(SipTrunkRoute(name="r", number_pattern="(", trunks=[A])))[2] == (
        "InvalidRouteNumberPattern"
    )
    assert (
        refused(routes(SipTrunkRoute(name="", number_pattern=".*", trunks=[A])))[2]
        == "InvalidRouteName"
    )
    same = SipTrunkRoute(name="r", number_pattern=".*", trunks=[A])
    assert refused(routes(same, same)) == (400, "UnprocessableConfiguration", "DuplicatedRoute")
    twice = SipTrunkRoute(name="r", number_pattern=".*", trunks=[A, A])
    assert refused(routes(twice))[:1] == (400,)
    client.set_routes([same])
    assert refused(lambda: client.delete_trunk(A))[2] == "MissingTrunk"  # a route names it
    assert trunks_of(client) == {A: 5061}


def test_our_settings_survive_the_sdks_patch(
    client: SipRoutingClient, routed: tuple[RunningServer, int], capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = routed
    client.set_trunk(SipTrunk(fqdn=A, sip_signaling_port=5061))
    cli(
        server,
        capsys,
        "set",
        A,
        "--max-calls",
        "7",
        "--transport",
        "tcp",
        "--username",
        "u",
        "--password",
        "p",
    )
    client.set_trunk(SipTrunk(fqdn=A, sip_signaling_port=5071))
    shown = cli(server, capsys, "show", A)
    assert "port=5071" in shown and "max_calls=7" in shown and "transport=tcp" in shown
    assert "password=***" in shown and " p " not in shown + " "  # the secret never printed


def test_a_trunk_set_through_the_sdk_reaches_the_gateway_at_once(
    client: SipRoutingClient, routed: tuple[RunningServer, int]
) -> None:
    _, sip_port = routed
    peer = SipPeer()
    try:
        client.set_trunk(SipTrunk(fqdn="127.0.0.1", sip_signaling_port=peer.port))
        options = peer.request_from(sip_port)  # the keep-alive of the trunk just set
        assert options.startswith(f"OPTIONS sip:127.0.0.1:{peer.port} SIP/2.0")
        server, _ = routed
        trusting = ssl.create_default_context(cafile=server.ca_path)
        scraped = httpx.get(f"{server.endpoint}/metrics", verify=trusting).text
        assert 'switchboard_sip_trunk_up{trunk="127.0.0.1"}' in scraped  # the live carrier's
    finally:
        peer.close()


@pytest.mark.anyio
async def test_the_async_client_does_the_same(
    client: SipRoutingClient, routed: tuple[RunningServer, int]
) -> None:
    server, _ = routed
    async with AsyncSipRoutingClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    ) as sip:
        await sip.set_trunks(
            [SipTrunk(fqdn=A, sip_signaling_port=5061), SipTrunk(fqdn=B, sip_signaling_port=5062)]
        )
        await sip.set_trunk(SipTrunk(fqdn=C, sip_signaling_port=5063))
        await sip.set_routes([SipTrunkRoute(name="r", number_pattern=r"\+1.*", trunks=[C, A])])
        assert (await sip.get_trunk(C)).sip_signaling_port == 5063
        assert {t.fqdn async for t in sip.list_trunks()} == {A, B, C}
        assert [(r.name, r.trunks) async for r in sip.list_routes()] == [("r", [C, A])]
        await sip.delete_trunk(B)
        with pytest.raises(HttpResponseError) as error:
            await sip.delete_trunk(C)
        assert error.value.status_code == 422
        assert {t.fqdn async for t in sip.list_trunks()} == {A, C}


def cli(server: RunningServer, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``switchboard trunks ...`` on the server's database (its data dir, or its PostgreSQL),
    run in this process as the command would."""
    capsys.readouterr()
    code = main(["trunks", *args, "--data-dir", str(server.data_dir), *server.args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out
