"""The benchmark load generator's pieces that need no Switchboard server (bench/loadgen.py)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json

import pytest
from bench.loadgen import (
    ProtocolError,
    Recorder,
    ResponseParser,
    RunStats,
    Target,
    build_request,
    content_sha256,
    hmac_signature,
    parse_connection_string,
    percentile,
    run_load,
)

KEY_B64 = base64.b64encode(bytes(range(32))).decode()
KEY = base64.b64decode(KEY_B64)
DATE = "Sat, 21 Nov 2026 22:39:14 GMT"
AUTHORITY = "127.0.0.1:8443"
PATH = "/identities?api-version=2023-10-01"


def _expected_signature(method: str, path: str, body: bytes) -> str:
    """The documented recipe (wire reference 1.2), computed independently of bench.loadgen."""
    body_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    message = f"{method}\n{path}\n{DATE};{AUTHORITY};{body_hash}".encode()
    return base64.b64encode(hmac.new(KEY, message, hashlib.sha256).digest()).decode()


def _response(status: int, body: bytes, *extra: str) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"content-length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


# ── signing ───────────────────────────────────────────────────────────────────────────


def test_empty_body_hash_is_the_documented_constant() -> None:
    assert content_sha256(b"") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def test_signature_matches_the_documented_recipe() -> None:
    signature = hmac_signature(KEY, "POST", PATH, DATE, AUTHORITY, content_sha256(b""))
    assert signature == _expected_signature("POST", PATH, b"")
    # Golden value from `openssl dgst -sha256 -mac HMAC -macopt hexkey:0001…1f | base64`.
    assert signature == "XuxWkr5a19dTfU04kckQrKE1JpmZEpOG2qztwWwseAo="


def test_built_request_carries_a_verifiable_signature() -> None:
    body = json.dumps({"scopes": ["chat", "voip"]}).encode()
    path = "/identities/8%3Aacs%3Ar_u/:issueAccessToken?api-version=2023-10-01"
    raw = build_request("post", path, AUTHORITY, key=KEY, body=body, date=DATE)
    head, _, sent_body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert lines[0] == f"POST {path} HTTP/1.1"
    assert sent_body == body
    assert headers["Host"] == AUTHORITY
    assert headers["Content-Length"] == str(len(body))
    assert headers["x-ms-date"] == DATE
    assert headers["x-ms-content-sha256"] == content_sha256(body)
    assert headers["Authorization"] == (
        "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256"
        f"&Signature={_expected_signature('POST', path, body)}"
    )


def test_unsigned_request_has_only_the_given_headers() -> None:
    raw = build_request(
        "GET", "/me", AUTHORITY, key=None, content_type=None, headers=[("Authorization", "B t")]
    )
    assert raw == b"GET /me HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nAuthorization: B t\r\n\r\n"


def test_connection_string_parts() -> None:
    endpoint = parse_connection_string(f"Endpoint=https://127.0.0.1:8443/;AccessKey={KEY_B64}")
    assert (endpoint.host, endpoint.port, endpoint.authority) == ("127.0.0.1", 8443, AUTHORITY)
    assert endpoint.access_key == KEY
    default_port = parse_connection_string(f"endpoint=https://acs.example/;accesskey={KEY_B64}")
    assert (default_port.port, default_port.authority) == (443, "acs.example")
    with pytest.raises(ValueError):
        parse_connection_string("endpoint=https://127.0.0.1/")


# ── response parsing ──────────────────────────────────────────────────────────────────


def test_response_split_across_many_reads() -> None:
    raw = _response(200, b'{"token": "abc"}', "content-type: application/json")
    parser = ResponseParser()
    for cut in (5, 20, len(raw) - 3):  # inside the status line, the headers, the body
        parser = ResponseParser()
        assert parser.feed(raw[:cut]) == []
        [response] = parser.feed(raw[cut:])
        assert (response.status, response.body) == (200, b'{"token": "abc"}')
    parser = ResponseParser()
    responses = [r for i in range(len(raw)) for r in parser.feed(raw[i : i + 1])]
    assert [(r.status, r.body, r.keep_alive) for r in responses] == [
        (200, b'{"token": "abc"}', True)
    ]
    assert responses[0].header("Content-Type") == "application/json"


def test_back_to_back_responses_in_one_read() -> None:
    raw = _response(200, b"one") + _response(204, b"") + _response(401, b'{"error": {}}')
    raw = raw.replace(b"content-length: 0\r\n", b"")  # a 204 needs no Content-Length
    parser = ResponseParser()
    responses = parser.feed(raw + _response(200, b"four")[:10])
    assert [(r.status, r.body) for r in responses] == [
        (200, b"one"),
        (204, b""),
        (401, b'{"error": {}}'),
    ]
    [last] = parser.feed(_response(200, b"four")[10:])
    assert last.body == b"four"


def test_interim_and_closing_responses() -> None:
    parser = ResponseParser()
    [response] = parser.feed(
        b"HTTP/1.1 100 Continue\r\n\r\n" + _response(201, b"x", "Connection: close")
    )
    assert (response.status, response.keep_alive) == (201, False)


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: many\r\n\r\n",
    ],
)
def test_unsupported_responses_raise_protocol_error(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        ResponseParser().feed(raw)


# ── statistics ────────────────────────────────────────────────────────────────────────


def test_percentiles_of_a_known_list() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, p) for p in (0, 1, 50, 90, 99, 99.5, 100)] == [
        1.0,
        1.0,
        50.0,
        90.0,
        99.0,
        100.0,
        100.0,
    ]
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_recorder_grows_and_counts_errors() -> None:
    recorder = Recorder(ok_statuses=(200,), capacity=2)
    for i in range(5):
        recorder.record(i / 1000, 200 if i != 3 else 503, b"busy")
    assert list(recorder.latencies[: recorder.count]) == [0.0, 0.001, 0.002, 0.003, 0.004]
    assert (recorder.ok, recorder.errors, recorder.first_error) == (4, {"503": 1}, "HTTP 503: busy")


def test_stats_report_and_json() -> None:
    stats = RunStats(
        concurrency=8,
        warmup=1.0,
        elapsed=2.0,
        requests=1000,
        ok=999,
        errors={"500": 1},
        first_error="HTTP 500: x",
        latencies=[i / 1000 for i in range(1, 1001)],
    )
    figures = stats.to_dict("tokens")
    assert figures["tokens_per_s"] == 499.5
    assert (figures["p50_ms"], figures["p99_ms"], figures["max_ms"]) == (500.0, 990.0, 1000.0)
    assert stats.error_rate == 0.001
    table = stats.format_table("bench", ok_label="tokens", command="python -m bench.x")
    assert "tokens/s" in table and "499.5" in table and "500: 1" in table


# ── the run loop against an in-process plain-HTTP server ─────────────────────────────


def test_run_load_counts_responses_and_errors() -> None:
    async def scenario() -> RunStats:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    break
                status = 500 if b"/fail" in head.split(b"\r\n", 1)[0] else 200
                writer.write(_response(status, b"ok"))
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        requests = [build_request("GET", f"/{n}", "h", key=None) for n in ("a", "b", "fail")]
        async with server:
            return await run_load(
                Target("127.0.0.1", port, None),
                lambda: requests,
                concurrency=3,
                duration=0.3,
                warmup=0.05,
                refresh_every=0.1,
            )

    stats = asyncio.run(scenario())
    assert stats.requests > 30
    assert stats.requests == stats.ok + stats.errors["500"]
    assert stats.errors["500"] == pytest.approx(stats.requests / 3, abs=3)
    assert stats.first_error == "HTTP 500: ok"
    assert list(stats.latencies) == sorted(stats.latencies)
