from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.core.errors import BadRequestError
from switchboard.http.paging import ContinuationCodec, next_link, page_size

codec = ContinuationCodec(b"k" * 32)

states = st.dictionaries(
    st.text(max_size=20), st.one_of(st.text(max_size=40), st.integers()), max_size=6
)


def assert_refused(token: str) -> None:
    with pytest.raises(BadRequestError) as info:
        codec.decode(token)
    assert info.value.status == 400
    assert info.value.error_code == "InvalidContinuationToken"


def test_round_trip() -> None:
    state: dict[str, str | int] = {"after": "room-42", "skip": 100, "q": "a b/c?d=é"}
    assert codec.decode(codec.encode(state)) == state


@given(states)
def test_any_state_round_trips_through_a_url_safe_token(state: dict[str, str | int]) -> None:
    token = codec.encode(state)
    assert re.fullmatch(r"[A-Za-z0-9._-]+", token)
    assert quote(token) == token  # the SDK's parse_qs + quote leaves it unchanged
    assert codec.decode(token) == state


@given(st.text(max_size=300))
def test_arbitrary_text_is_refused_as_a_bad_request(text: str) -> None:
    assert_refused(text)


@given(st.from_regex(r"[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{1,40}", fullmatch=True))
def test_well_formed_but_unsigned_tokens_are_refused(text: str) -> None:
    assert_refused(text)


def test_tampered_payload_is_refused() -> None:
    payload, signature = codec.encode({"skip": 100}).split(".")
    forged = ContinuationCodec(b"other").encode({"skip": 0}).split(".")[0]
    assert_refused(f"{forged}.{signature}")
    assert_refused(f"{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{signature}")


def test_tampered_signature_is_refused() -> None:
    payload, signature = codec.encode({"skip": 100}).split(".")
    for i in range(len(signature)):
        flipped = "A" if signature[i] != "A" else "B"
        assert_refused(f"{payload}.{signature[:i]}{flipped}{signature[i + 1 :]}")
    assert_refused(payload)
    assert_refused(f"{payload}.")
    assert_refused(f"{payload}.{signature}.{signature}")
    assert_refused(f"{payload}.{signature}=")


def test_token_from_another_secret_is_refused() -> None:
    assert_refused(ContinuationCodec(b"another secret").encode({"skip": 100}))


def test_oversized_token_is_refused() -> None:
    assert_refused(codec.encode({"q": "x" * 10_000}))


def test_empty_secret_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        ContinuationCodec(b"")


def test_next_link_is_relative_and_percent_encoded() -> None:
    token = codec.encode({"skip": 5})
    link = next_link(
        "/rooms", {"continuationToken": token, "filter": "a b&c=d/é"}, api_version=None
    )
    parts = urlsplit(link)
    assert parts.scheme == "" and parts.netloc == "" and parts.path == "/rooms"
    query = parse_qs(parts.query)
    assert query == {"continuationToken": [token], "filter": ["a b&c=d/é"]}
    assert " " not in link


def test_next_link_with_an_origin_is_absolute_as_acs_answers() -> None:
    link = next_link(
        "/rooms", {"continuationToken": "t"}, api_version="2025-03-13", origin="https://h:8443"
    )
    assert link == "https://h:8443/rooms?api-version=2025-03-13&continuationToken=t"


def test_next_link_carries_the_given_api_version_once() -> None:
    # The JS SDKs GET nextLink verbatim: without api-version the next page is a 400.
    link = next_link(
        "/rooms", {"api-version": "ApiVersion.V1", "skip": "5"}, api_version="2025-03-13"
    )
    assert parse_qs(urlsplit(link).query) == {"api-version": ["2025-03-13"], "skip": ["5"]}
    assert next_link("/rooms", {}, api_version="2025-03-13") == "/rooms?api-version=2025-03-13"
    assert next_link("/rooms", {"api-version": "2025-03-13"}, api_version=None) == "/rooms"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, 20), ("1", 1), ("50", 50), ("100", 100), ("101", 100), ("007", 7), ("9" * 5000, 100)],
)
def test_page_size_is_a_positive_integer_clamped_to_the_maximum(
    raw: str | None, expected: int
) -> None:
    assert page_size(raw, default=20, maximum=100) == expected


@pytest.mark.parametrize("raw", ["", "0", "000", "-1", "+5", " 5", "1.5", "1_0", "ten", "٣", "1e3"])
def test_page_size_refuses_non_positive_or_non_integer_values(raw: str) -> None:
    with pytest.raises(BadRequestError) as info:
        page_size(raw, default=20, maximum=100)
    assert info.value.status == 400


def test_default_page_size_is_clamped_too() -> None:
    assert page_size(None, default=500, maximum=100) == 100
