"""Rooms and Network Traversal over HTTP, in process: the wire details the SDKs do not reach."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from switchboard.app import build_node
from switchboard.core.config import load_settings, node_config
from tests.acs_signing import sign

pytestmark = pytest.mark.anyio

HOST = "127.0.0.1:8443"
V = "api-version=2025-03-13"
ALICE = "8:acs:00000000-0000-0000-0000-000000000001_00000000-0000-0000-0000-00000000000a"
BOB = "8:acs:00000000-0000-0000-0000-000000000001_00000000-0000-0000-0000-00000000000b"


@dataclass
class Api:
    http: httpx.AsyncClient
    key: str

    async def call(
        self, method: str, target: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        raw = b"" if body is None else json.dumps(body).encode()
        signed = sign(method, target, HOST, raw, self.key)
        signed.update(headers or {})
        return await self.http.request(method, target, content=raw, headers=signed)

    async def new_room(self, **body: Any) -> dict[str, Any]:
        response = await self.call("POST", f"/rooms?{V}", body)
        assert response.status_code == 201, response.text
        room: dict[str, Any] = response.json()
        return room


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    settings = load_settings(
        {"data_dir": tmp_path, "database_url": database_url, "port": 8443}, environ={}
    )
    node = await build_node(node_config(settings))
    primary, _ = await node.secrets.access_keys()
    transport = httpx.ASGITransport(app=node.asgi)
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{HOST}") as http:
        yield Api(http, primary)
    await node.stop()


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_room_defaults_and_every_key(api: Api) -> None:
    before = datetime.now(UTC)
    room = await api.new_room(validFrom=None, validUntil=None, pstnDialOutEnabled=False)
    assert set(room) == {"id", "createdAt", "validFrom", "validUntil", "pstnDialOutEnabled"}
    assert room["id"].isdigit() and len(room["id"]) == 17
    valid_from = datetime.fromisoformat(room["validFrom"])
    valid_until = datetime.fromisoformat(room["validUntil"])
    assert before - timedelta(seconds=1) <= valid_from <= datetime.now(UTC)
    assert valid_until - valid_from == timedelta(days=180)


async def test_empty_create_body_and_unknown_fields_are_accepted(api: Api) -> None:
    created = await api.call("POST", f"/rooms?{V}")
    assert created.status_code == 201
    assert created.headers["location"] == f"https://{HOST}/rooms/{created.json()['id']}"
    room = await api.new_room(futureField={"x": 1})
    assert room["pstnDialOutEnabled"] is False


async def test_patch_with_nulls_keeps_everything(api: Api) -> None:
    room = await api.new_room(pstnDialOutEnabled=True)
    body = {"validFrom": None, "validUntil": None, "pstnDialOutEnabled": None}
    patched = await api.call(
        "PATCH",
        f"/rooms/{room['id']}?{V}",
        body,
        {"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200
    assert patched.json() == room


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"validFrom": iso(datetime.now(UTC) + timedelta(days=181))}, "ValidFrom"),
        ({"validUntil": iso(datetime.now(UTC) - timedelta(minutes=1))}, "ValidUntil"),
        (
            {
                "validFrom": iso(datetime.now(UTC) + timedelta(days=2)),
                "validUntil": iso(datetime.now(UTC) + timedelta(days=1)),
            },
            "ValidUntil",
        ),
        ({"validUntil": iso(datetime.now(UTC) + timedelta(days=181))}, "ValidUntil"),
    ],
)
async def test_bad_windows_are_400_naming_the_field(
    api: Api, body: dict[str, Any], target: str
) -> None:
    response = await api.call("POST", f"/rooms?{V}", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    [detail] = error["details"]  # ACS names the field in a nested detail
    assert (detail["code"], detail["target"]) == ("BadArgument", target)


async def test_bad_dates_and_types_are_400(api: Api) -> None:
    for body in ({"validFrom": "tomorrow"}, {"pstnDialOutEnabled": "yes"}, [1, 2]):
        response = await api.call("POST", f"/rooms?{V}", body)
        assert response.status_code == 400, body


async def test_malformed_room_id_is_400_and_unknown_is_404(api: Api) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = await api.call(
            method, f"/rooms/invalid_id?{V}", {} if method == "PATCH" else None
        )
        assert response.status_code == 400
        assert response.json()["error"]["message"] == "Invalid room ID length."
    ghost = "99000000000000000"
    assert (await api.call("GET", f"/rooms/{ghost}?{V}")).status_code == 404
    assert (await api.call("PATCH", f"/rooms/{ghost}?{V}", {})).status_code == 404
    assert (await api.call("GET", f"/rooms/{ghost}/participants?{V}")).status_code == 404
    change = {"participants": {ALICE: {"role": "Presenter"}}}
    missing = await api.call("PATCH", f"/rooms/{ghost}/participants?{V}", change)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NotFound"


async def test_delete_is_idempotent_as_in_acs(api: Api) -> None:
    room = await api.new_room()
    assert (await api.call("DELETE", f"/rooms/{room['id']}?{V}")).status_code == 204
    assert (await api.call("DELETE", f"/rooms/{room['id']}?{V}")).status_code == 204
    assert (await api.call("GET", f"/rooms/{room['id']}?{V}")).status_code == 404


async def test_participant_changes_merge(api: Api) -> None:
    room = await api.new_room(participants={ALICE: {"role": "Presenter"}, BOB: None})
    path = f"/rooms/{room['id']}/participants"
    listed = (await api.call("GET", f"{path}?{V}")).json()
    assert listed == {"value": [{"rawId": ALICE, "role": "Presenter"}]}
    # Role names are case-insensitive and a missing role means Attendee.
    change = {"participants": {ALICE: {"role": "consumer"}, BOB: {}}}
    answer = await api.call("PATCH", f"{path}?{V}", change)
    assert answer.status_code == 200 and answer.json() == {}
    listed = (await api.call("GET", f"{path}?{V}")).json()["value"]
    assert listed == [
        {"rawId": ALICE, "role": "Consumer"},
        {"rawId": BOB, "role": "Attendee"},
    ]
    # null removes; removing someone who is not a member is a no-op.
    ghost = BOB.replace("b", "c")
    change2: dict[str, Any] = {"participants": {BOB: None, ghost: None}}
    assert (await api.call("PATCH", f"{path}?{V}", change2)).status_code == 200
    listed = (await api.call("GET", f"{path}?{V}")).json()["value"]
    assert listed == [{"rawId": ALICE, "role": "Consumer"}]


@pytest.mark.parametrize(
    "participants",
    [{ALICE: {"role": "Kafka"}}, {"wrong_mri": {"role": "Attendee"}}, {"4:+14255550123": {}}],
)
async def test_invalid_participants_change_nothing(api: Api, participants: dict[str, Any]) -> None:
    room = await api.new_room()
    path = f"/rooms/{room['id']}/participants"
    body = {"participants": {BOB: {"role": "Presenter"}, **participants}}
    assert (await api.call("PATCH", f"{path}?{V}", body)).status_code == 400
    assert (await api.call("GET", f"{path}?{V}")).json()["value"] == []
    created = await api.call("POST", f"/rooms?{V}", {"participants": participants})
    assert created.status_code == 400


async def test_room_pages_survive_new_rooms_and_enum_api_version(api: Api) -> None:
    made = {(await api.new_room())["id"] for _ in range(5)}
    seen: list[str] = []
    target = f"/rooms?maxPageSize=2&{V}"
    pages = 0
    while target:
        response = await api.call("GET", target)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [room["id"] for room in body["value"]]
        pages += 1
        await api.new_room()  # created during the walk: must not disturb it
        link = body.get("nextLink")
        if not link:
            break
        # Absolute, on the host the client used, as ACS's nextLinks are.
        assert link.startswith(f"https://{HOST}/rooms?")
        link = link.removeprefix(f"https://{HOST}")
        query = parse_qs(urlsplit(link).query)
        # The JS SDK GETs nextLink as written, so it carries the request's api-version ...
        assert query["maxPageSize"] == ["2"] and query["api-version"] == ["2025-03-13"]
        # ... and the Python Rooms SDK replaces that with its next-page bug, the enum repr.
        target = link.replace(V, "api-version=ApiVersion.V2025_03_13")
        assert target != link
    assert made <= set(seen)
    assert len(seen) == len(set(seen))
    assert pages >= 3


async def test_participant_pages_and_tokens_are_bound_to_their_room(api: Api) -> None:
    roster = {f"{ALICE[:-2]}{i:02d}": {"role": "Attendee"} for i in range(5)}
    room = await api.new_room(participants=roster)
    other = await api.new_room()
    first = (await api.call("GET", f"/rooms/{room['id']}/participants?maxPageSize=2&{V}")).json()
    assert len(first["value"]) == 2
    link = first["nextLink"].removeprefix(f"https://{HOST}")
    stolen = link.replace(room["id"], other["id"])
    assert (await api.call("GET", f"{stolen}&{V}")).status_code == 400
    collected = [p["rawId"] for p in first["value"]]
    while link:
        page = (await api.call("GET", link)).json()
        collected += [p["rawId"] for p in page["value"]]
        link = page.get("nextLink", "").removeprefix(f"https://{HOST}")
    assert collected == sorted(roster)


async def test_forged_continuation_token_is_400(api: Api) -> None:
    response = await api.call("GET", f"/rooms?continuationToken=abc.def&{V}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidContinuationToken"


async def test_rooms_refuse_unknown_api_versions(api: Api) -> None:
    assert (await api.call("GET", "/rooms?api-version=2021-04-07")).status_code == 400
    assert (await api.call("GET", "/rooms?api-version=2023-06-14")).status_code == 200


async def test_relay_configuration_on_both_spellings_of_the_path(api: Api) -> None:
    for path in (
        "/networkTraversal/:issueRelayConfiguration",
        "/networktraversal/:issueRelayConfiguration",
    ):
        response = await api.call("POST", f"{path}?api-version=2022-02-01", {})
        assert response.status_code == 200, response.text
        body = response.json()
        assert [s["routeType"] for s in body["iceServers"]] == ["any", "nearest"]
        assert body["iceServers"][0]["username"].endswith(":anonymous")
        # Default: the local coturn's address and port, UDP and TCP.
        assert body["iceServers"][0]["urls"] == [
            "stun:127.0.0.1:3478",
            "turn:127.0.0.1:3478?transport=udp",
            "turn:127.0.0.1:3478?transport=tcp",
        ]


@pytest.mark.parametrize(
    "body", [{"routeType": "fastest"}, {"id": "not-a-user"}, {"ttl": -1}, {"ttl": "long"}]
)
async def test_bad_relay_requests_are_400(api: Api, body: dict[str, Any]) -> None:
    path = "/networkTraversal/:issueRelayConfiguration?api-version=2022-03-01-preview"
    assert (await api.call("POST", path, body)).status_code == 400
