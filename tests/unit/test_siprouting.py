"""SIP routing's rules (siprouting/validation.py, service.py) on the in-memory store: ACS's
merge-patch, its error codes, our settings kept across a PATCH, and the config file's
precedence at start; any JSON body is a patch or a 4xx (Hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.bus.memory import MemoryBus
from switchboard.core.errors import SwitchboardError
from switchboard.siprouting.models import (
    DuplicateSipConfigurationError,
    SipConfiguration,
    SipConfigurationError,
    SipTrunk,
    Transport,
    TrunkSettings,
)
from switchboard.siprouting.schemas import sip_patch
from switchboard.siprouting.service import (
    SIP_ROUTING_CHANGED,
    SipPatch,
    SipRoutingService,
    TrunkPatch,
)
from switchboard.siprouting.store import MemorySipRoutingStore
from switchboard.siprouting.validation import (
    compile_number_pattern,
    configuration_from_tables,
    route,
    trunk_from_table,
)

pytestmark = pytest.mark.anyio

A, B = "sbc-a.example.com", "sbc-b.example.com"


def service() -> SipRoutingService:
    return SipRoutingService(MemorySipRoutingStore())


def trunks(*fqdns: str, port: int = 5061) -> SipPatch:
    return SipPatch({f: TrunkPatch(port) for f in fqdns})


@pytest.mark.parametrize(
    ("fqdn", "ok"),
    [
        ("sbc.example.com", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("carrier-a", True),
        ("-1", False),
        ("a..b", False),
        ("bad host", False),
        ("x" * 250, False),
        ("", False),
    ],
)
async def test_a_trunk_fqdn_is_a_host_name_or_an_address(fqdn: str, ok: bool) -> None:
    patch = trunks(fqdn)
    if ok:
        assert (await service().update(patch)).trunk(fqdn) is not None
        return
    with pytest.raises(SipConfigurationError) as refused:
        await service().update(patch)
    assert (refused.value.status, refused.value.inner_code) == (422, "InvalidTrunkFqdn")


async def test_a_new_trunk_needs_its_port_a_known_one_does_not() -> None:
    sip = service()
    with pytest.raises(SipConfigurationError) as refused:
        await sip.update(SipPatch({A: TrunkPatch()}))
    assert refused.value.inner_code == "InvalidTrunkSipSignalingPort"
    await sip.update(trunks(A))
    disabled = (await sip.update(SipPatch({A: TrunkPatch(enabled=False)}))).trunk(A)
    assert disabled is not None and (disabled.sip_signaling_port, disabled.enabled) == (5061, False)


@pytest.mark.parametrize("port", [0, 65536, -1, True, "5060"])
async def test_a_port_out_of_range_is_refused(port: Any) -> None:
    with pytest.raises(SipConfigurationError) as refused:
        await service().update(SipPatch({A: TrunkPatch(port)}))
    assert refused.value.inner_code == "InvalidTrunkSipSignalingPort"


@pytest.mark.parametrize(
    ("make", "status", "inner"),
    [
        (lambda: route("", r"\+1.*"), 422, "InvalidRouteName"),
        (lambda: route("r", ""), 422, "InvalidRouteNumberPattern"),
        (lambda: route("r", "(unclosed"), 422, "InvalidRouteNumberPattern"),
        (lambda: route("r", "x" * 1025), 422, "InvalidRouteNumberPattern"),
        (lambda: route("r", "a{4294967296}"), 422, "InvalidRouteNumberPattern"),
        (lambda: route("r", "(" * 500 + ")" * 500), 422, "InvalidRouteNumberPattern"),
        (lambda: route("r", ".*", [A, A]), 400, "RouteWithDuplicatedTrunk"),
        (lambda: route("r", ".*", description="d" * 1025), 422, "InvalidRouteDescription"),
    ],
)
def test_a_bad_route_is_refused_with_acs_codes(make: Any, status: int, inner: str) -> None:
    with pytest.raises(SipConfigurationError) as refused:
        make()
    error = refused.value
    assert (error.status, error.error_code) == (status, "UnprocessableConfiguration")
    assert refused.value.inner_code == inner


async def test_routes_may_name_only_existing_trunks_and_names_are_unique() -> None:
    sip = service()
    await sip.update(trunks(A))
    with pytest.raises(SipConfigurationError) as missing:
        await sip.update(SipPatch(routes=(route("r", ".*", [B]),)))
    assert missing.value.inner_code == "MissingTrunk"
    twice = (route("r", ".*", [A]), route("r", r"\+1.*", [A]))
    with pytest.raises(DuplicateSipConfigurationError) as duplicated:
        await sip.update(SipPatch(routes=twice))
    assert (duplicated.value.status, duplicated.value.inner_code) == (400, "DuplicatedRoute")
    await sip.update(SipPatch(routes=(route("r", ".*", [A]),)))
    with pytest.raises(SipConfigurationError) as named:  # deleting a trunk a route names
        await sip.update(SipPatch({A: None}))
    assert named.value.inner_code == "MissingTrunk"
    assert (await sip.configuration()).trunk(A) is not None


async def test_merge_patch_adds_changes_deletes_and_replaces_routes() -> None:
    sip = service()
    await sip.update(trunks(A, B))
    await sip.update(SipPatch(routes=(route("r", ".*", [A, B]),)))
    changed = await sip.update(SipPatch({B: TrunkPatch(6000), "gone.example.com": None}))
    assert [(t.fqdn, t.sip_signaling_port) for t in changed.trunks] == [(A, 5061), (B, 6000)]
    assert [r.name for r in changed.routes] == ["r"]  # routes untouched when not given
    emptied = await sip.update(SipPatch(routes=()))
    assert emptied.routes == () and len(emptied.trunks) == 2
    with pytest.raises(SipConfigurationError) as empty:
        await sip.update(SipPatch(trunks={}))
    assert empty.value.inner_code == "EmptyPatch"


async def test_a_patch_keeps_our_own_settings() -> None:
    sip = service()
    ours = TrunkSettings(host="10.0.0.5", transport=Transport.TLS, max_calls=3)
    await sip.put_trunk(SipTrunk(A, 5061, True, ours))
    patched = await sip.update(SipPatch({A: TrunkPatch(5071, enabled=False)}))
    trunk = patched.trunk(A)
    assert trunk is not None
    assert (trunk.sip_signaling_port, trunk.enabled, trunk.settings) == (5071, False, ours)


async def test_every_change_is_announced_on_the_bus() -> None:
    bus = MemoryBus()
    await bus.start()
    changes = await bus.subscribe(SIP_ROUTING_CHANGED)
    sip = SipRoutingService(MemorySipRoutingStore(), bus)
    await sip.update(trunks(A))
    await sip.update(trunks(A))  # no change: nothing written, nothing said
    await sip.remove_trunk(A)
    assert [await changes.get(), await changes.get()] == [b"1", b"2"]
    await bus.stop()


async def test_the_config_file_wins_for_what_it_names_at_each_start() -> None:
    sip = service()
    await sip.update(trunks(A, B))
    await sip.update(SipPatch({B: TrunkPatch(6000)}))
    file = configuration_from_tables(
        [{"name": B, "port": 5080, "max_calls": 9}],
        [{"name": "file", "pattern": r"\+1.*", "trunks": [B]}],
    )
    applied = await sip.apply_file(file)
    b = applied.trunk(B)
    assert b is not None and (b.sip_signaling_port, b.settings.max_calls) == (5080, 9)
    assert applied.trunk(A) is not None  # what the file does not name stays
    assert [r.name for r in applied.routes] == ["file"]
    kept = await sip.apply_file(configuration_from_tables([{"name": B, "port": 5080}], []))
    assert [r.name for r in kept.routes] == ["file"]  # a file without routes leaves them


def test_table_settings_are_checked_where_they_are_given() -> None:
    base = trunk_from_table({"name": A, "username": "u", "password": "p"}, "trunk")
    changed = trunk_from_table({"max_calls": 4, "codecs": "pcma"}, "trunk", base=base)
    assert (changed.settings.max_calls, changed.settings.codecs) == (4, ("PCMA",))
    assert changed.settings.username == "u"  # what was not given stays
    cases: list[tuple[dict[str, Any], str]] = [
        ({"max_call": 4}, "unknown setting 'max_call'"),
        ({"transport": "sctp"}, "transport must be udp, tcp or tls"),
        ({"register": True, "username": None, "password": None}, "register needs"),
        ({"register_seconds": 5}, "register_seconds must be"),
        ({"username": None}, "username and password go together"),
    ]
    for table, message in cases:
        with pytest.raises(SipConfigurationError, match=message):
            trunk_from_table(table, "trunk", base=base)


def test_dotnet_patterns_from_acs_samples_compile() -> None:
    assert compile_number_pattern(r"^\+[1-9][0-9]{3,23}$").fullmatch("+14255550100")
    assert compile_number_pattern("^+[1-9][0-9]{3,23}$").fullmatch("14255550100")
    assert SipConfiguration().trunk(A) is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
BODIES = st.fixed_dictionaries(
    {},
    optional={
        "trunks": JSON | st.dictionaries(st.text(max_size=12), JSON, max_size=3),
        "routes": JSON
        | st.lists(
            st.dictionaries(
                st.sampled_from(["name", "numberPattern", "trunks", "description"]), JSON
            ),
            max_size=3,
        ),
    },
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(body=JSON | BODIES)
def test_any_json_body_is_a_patch_or_a_4xx(body: Any) -> None:
    """What a PATCH body can be is read, or refused with a client error: never a 5xx."""
    try:
        sip_patch(body)
    except SwitchboardError as error:
        assert 400 <= error.status < 500
