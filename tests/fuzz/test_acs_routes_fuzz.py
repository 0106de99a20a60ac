"""Schema-driven fuzzing of every ACS route a node serves, signed, against one real server.

    ACS OpenAPI file ─▶ schemathesis case (positive and negative) ─▶ api-version pinned
        ─▶ HMAC-signed (chat: a user's Bearer token) ─▶ switchboard serve ─▶ checks

Checks: never a 5xx; an error answer is ACS's ``{"error": {"code", "message"}}``; the server
is still serving afterwards. Operations a node does not route (Teams, Email, Call Automation)
are skipped. Bounded: a few examples per operation, derandomized (the same cases on every run),
no deadline (a request over TLS on a shared CI machine is slow, not wrong).
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation

from switchboard.http.routing import AcsRoute
from tests.fuzz.acs_specs import SERVED_SPECS, AcsSpec, api_version, load_spec, require_spec_dir
from tests.fuzz.conftest import FuzzTarget

EXAMPLES_PER_OPERATION = 15

Operation = APIOperation[Any, Any, Any, Any]
AnyCase = Case[Any]

T = TypeVar("T")

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# Headers the transport or the signature owns; a generated value would only break the signing.
_OWNED_HEADERS = {"authorization", "host", "content-length", "x-ms-date", "x-ms-content-sha256"}


def served(operation: Operation, routes: list[AcsRoute]) -> bool:
    sample = re.sub(r"\{[^}]+\}", "fuzz", operation.path)
    method = operation.method.upper()
    return any(r.path_regex.match(sample) and method in (r.methods or ()) for r in routes)


def assert_acs_answer(case: AnyCase, response: httpx.Response) -> None:
    where = f"{case.method} {response.request.url} -> {response.status_code}: {response.text[:500]}"
    assert response.status_code < 500, where
    if response.status_code < 400:
        return
    try:
        body: Any = response.json()
    except json.JSONDecodeError:
        pytest.fail(f"an error that is not JSON: {where}")
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), where
    assert isinstance(error.get("code"), str), where
    assert isinstance(error.get("message"), str), where


def request_for(
    target: FuzzTarget, case: AnyCase, version: str, token: str | None
) -> httpx.Request:
    kwargs = case.as_transport_kwargs(base_url=target.server.endpoint)
    headers = {k: v for k, v in kwargs["headers"].items() if k.lower() not in _OWNED_HEADERS}
    params = {**kwargs.get("params", {}), "api-version": version}
    content: bytes | None = None
    if "json" in kwargs:
        content = json.dumps(kwargs["json"]).encode()
        headers.setdefault("Content-Type", "application/json")
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        content = data if isinstance(data, bytes) else str(data).encode()
    request = target.http.build_request(
        kwargs["method"], kwargs["url"], params=params, headers=headers, content=content
    )
    if token is None:
        return target.signed(request)
    request.headers["Authorization"] = f"Bearer {token}"
    return request


@st.composite
def without_recursion_errors(draw: st.DrawFn, strategy: st.SearchStrategy[T]) -> T:
    """Schemathesis's negative mode sometimes recurses without end through a recursive
    ``$ref`` (CommunicationIdentifierModel) while mutating a body, and only sometimes (the
    replay then passes and Hypothesis reports "inconsistent results"): such a draw is
    discarded, not a failure of ours."""
    try:
        return draw(strategy)
    except RecursionError:
        reject()


def fuzz_operation(
    target: FuzzTarget, operation: Operation, version: str, token: str | None
) -> None:
    """Random ids (mostly "not found") and, to get past the lookup, ids that exist."""
    real = {
        name: value
        for name, value in target.fresh_resources(token).items()
        if f"{{{name}}}" in operation.path
    }
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        without_recursion_errors(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)),
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=real),
    )

    @FUZZ_SETTINGS
    @given(case=cases)
    def run(case: AnyCase) -> None:
        response = target.http.send(request_for(target, case, version, token))
        assert_acs_answer(case, response)

    run()


@pytest.mark.parametrize("spec", SERVED_SPECS, ids=lambda spec: spec.file)
def test_no_acs_route_answers_a_fuzzed_request_with_a_5xx(
    spec: AcsSpec, fuzz_target: FuzzTarget, acs_routes: list[AcsRoute]
) -> None:
    require_spec_dir()
    raw = load_spec(spec)
    schema = schemathesis.openapi.from_dict(raw)
    token = fuzz_target.user_token("chat", "voip") if spec.bearer else None
    operations: list[Operation] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"{spec.file}: {result.err()}"
        operations.append(result.ok())
    fuzzed = [op for op in operations if served(op, acs_routes)]
    assert fuzzed, f"no operation of {spec.file} is routed"
    for operation in fuzzed:
        fuzz_operation(fuzz_target, operation, api_version(raw), token)
    fuzz_target.assert_serving()
