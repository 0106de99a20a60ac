"""Trunks and routes from the config tables (gateways/sip/trunks.py), G.711 and the jitter
buffer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.calling.pstn.ports import InboundPhoneCall, PhoneCallListener
from switchboard.core.config import load_config
from switchboard.gateways.sip import SipCarrier, SipRouting, g711
from switchboard.gateways.sip.errors import TrunkConfigError
from switchboard.gateways.sip.jitter import JitterBuffer
from switchboard.gateways.sip.reasons import end_reason, sip_status
from switchboard.gateways.sip.trunks import Transport, routing_from_tables

TRUNKS: list[dict[str, Any]] = [
    {"name": "primary", "host": "sip.carrier-a.example", "username": "u", "password": "p"},
    {
        "name": "backup",
        "host": "sip.carrier-b.example",
        "port": 5080,
        "transport": "tcp",
        "codecs": ["PCMA"],
        "max_calls": 5,
    },
    {"name": "off", "host": "sip.carrier-c.example", "enabled": False},
]
ROUTES: list[dict[str, Any]] = [
    {"name": "us", "pattern": r"\+1[0-9]{10}", "trunks": ["primary", "off", "backup"]},
    {"name": "all", "pattern": r"\+[0-9]+", "trunks": ["backup"]},
]


def test_the_first_matching_route_gives_its_enabled_trunks_in_order() -> None:
    routing = routing_from_tables(TRUNKS, ROUTES)
    assert [t.name for t in routing.trunks_for("+14255550123")] == ["primary", "backup"]
    assert [t.name for t in routing.trunks_for("+4930123456")] == ["backup"]
    assert [t.name for t in routing.trunks_for("+1425")] == ["backup"]  # only "all" matches
    assert routing.trunks_for("12345") == []
    backup = routing.trunks["backup"]
    assert (backup.port, backup.transport, backup.codecs) == (5080, Transport.TCP, ("PCMA",))


@pytest.mark.parametrize(
    ("trunks", "routes", "message"),
    [
        ([{"host": "h", "pasword": "x"}], [], "unknown setting 'pasword'"),
        ([{"host": "h", "transport": "sctp"}], [], "transport"),
        ([{"host": "h", "codecs": ["G729"]}], [], "codecs"),
        ([{"host": "h", "port": 70000}], [], "port"),
        ([{"host": "h", "username": "u"}], [], "username and password"),
        ([{"name": "a", "host": "h"}, {"name": "a", "host": "i"}], [], "Two trunks"),
        ([{"host": "h"}], [{"name": "r", "pattern": "(", "trunks": ["h"]}], "regular expression"),
        ([{"host": "h"}], [{"name": "r", "pattern": ".*", "trunks": ["x"]}], "no trunk 'x'"),
        ([{"host": "h"}], [{"name": "r", "pattern": ".*", "trunk": ["h"]}], "unknown setting"),
        ([{"host": "h", "register": "yes"}], [], "register must be true or false"),
        ([{"host": "h", "register": True, "register_seconds": 5}], [], "register_seconds"),
    ],
)
def test_a_bad_table_is_refused_with_where_it_is(
    trunks: list[dict[str, Any]], routes: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(TrunkConfigError, match=message):
        routing_from_tables(trunks, routes)


def test_trunks_and_routes_come_from_the_config_file(tmp_path: Any) -> None:
    path = tmp_path / "switchboard.toml"
    path.write_text(
        '[server]\nsip_port = 5099\n\n[[trunks]]\nname = "a"\nhost = "127.0.0.1"\n\n'
        '[[routes]]\nname = "r"\npattern = "\\\\+1.*"\ntrunks = ["a"]\n'
    )
    sip = load_config(config_file=path, environ={}).sip
    assert sip.port == 5099
    routing = routing_from_tables(sip.trunks, sip.routes)
    assert [t.name for t in routing.trunks_for("+15551234567")] == ["a"]


def test_sip_statuses_map_to_acs_end_reasons_and_back() -> None:
    assert end_reason(486, "Busy Here").code == 486
    assert end_reason(404, "Not Found").code == 404
    assert end_reason(480, "Temporarily Unavailable").code == 408
    assert end_reason(502, "Bad Gateway").code == 502
    assert sip_status(end_reason(603, "Decline")) == 603
    assert sip_status(end_reason(408, "")) == 480


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_g711_round_trips_speech_levels_within_its_quantisation(codec: str) -> None:
    t = np.arange(160) / 8000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    back = g711.decode(codec, g711.encode(codec, tone))
    assert np.max(np.abs(back.astype(np.int32) - tone)) <= 8000 // 16 + 8
    assert g711.encode(codec, g711.decode(codec, bytes(range(256)))) != b""


def test_resampling_keeps_a_frame_a_frame() -> None:
    pcm = (1000 * np.sin(np.arange(160) / 5)).astype(np.int16)
    up = g711.upsample_8k_to_48k(pcm)
    assert up.size == 960
    down = g711.downsample_48k_to_8k(up)
    assert down.size == 160
    assert np.max(np.abs(down[2:-2].astype(np.int32) - pcm[2:-2])) < 150


def test_the_jitter_buffer_reorders_drops_late_and_counts_gaps() -> None:
    buffer = JitterBuffer(depth=2)
    buffer.push(11, b"b")
    assert buffer.pop() is None  # waiting for two packets
    buffer.push(10, b"a")
    buffer.push(13, b"d")
    assert [buffer.pop(), buffer.pop(), buffer.pop(), buffer.pop()] == [b"a", b"b", None, b"d"]
    assert buffer.lost == 1
    buffer.push(12, b"c")  # behind the playout point: late
    assert buffer.late == 1
    buffer.push(0xFFFF, b"y")  # also behind (wraps) … and after a dry spell playout restarts
    assert buffer.pop() is None


def test_a_duplicate_after_a_pause_is_not_played_again_but_a_new_stream_is() -> None:
    buffer = JitterBuffer(depth=2)
    buffer.push(5, b"5")
    buffer.push(6, b"6")
    assert [buffer.pop(), buffer.pop(), buffer.pop()] == [b"5", b"6", None]  # then dry
    buffer.push(5, b"5")
    buffer.push(6, b"6")
    assert buffer.late == 2
    buffer.push(7, b"7")
    buffer.push(8, b"8")
    assert [buffer.pop(), buffer.pop()] == [b"7", b"8"]
    buffer.reset()  # the sender restarted: its numbers start wherever
    buffer.push(1, b"1")
    buffer.push(2, b"2")
    assert [buffer.pop(), buffer.pop()] == [b"1", b"2"]


def test_the_jitter_buffer_follows_the_sequence_across_the_wrap() -> None:
    buffer = JitterBuffer(depth=2)
    for seq in (0xFFFE, 0xFFFF, 0, 1):
        buffer.push(seq, seq.to_bytes(2, "big"))
    assert [buffer.pop() for _ in range(4)] == [
        s.to_bytes(2, "big") for s in (0xFFFE, 0xFFFF, 0, 1)
    ]


def test_a_wildcard_sip_host_is_refused() -> None:
    with pytest.raises(TrunkConfigError, match="wildcard"):
        SipCarrier(SipRouting(), NoCalls(), host="0.0.0.0")


class NoCalls:
    def incoming(self, call: InboundPhoneCall) -> PhoneCallListener:
        raise AssertionError("no call was expected")


@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.booleans()), max_size=80))
def test_the_jitter_buffer_never_plays_a_packet_twice_nor_out_of_order(
    arrivals: list[tuple[int, bool]],
) -> None:
    """Any arrival order, with pops between: each payload at most once, in sequence order
    within a talkspurt."""
    buffer = JitterBuffer(depth=2)
    played: list[int] = []
    for seq, pop in arrivals:
        buffer.push(seq, seq.to_bytes(2, "big"))
        if pop and (payload := buffer.pop()) is not None:
            played.append(int.from_bytes(payload, "big"))
    assert len(played) == len(set(played))


def test_a_tls_trunk_defaults_to_port_5061_and_needs_a_readable_ca_file() -> None:
    routing = routing_from_tables([{"host": "sip.example", "transport": "tls"}], [])
    trunk = routing.trunks["sip.example"]
    assert (trunk.port, trunk.secure) == (5061, True)
    with pytest.raises(TrunkConfigError, match="ca_file"):
        routing_from_tables([{"host": "h", "transport": "tls", "ca_file": "/nonexistent.pem"}], [])
