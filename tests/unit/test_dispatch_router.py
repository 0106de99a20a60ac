"""DispatchRouter picks the route Starlette's linear scan would, for any request."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from switchboard.core.errors import MethodNotAllowedError, NotFoundError
from switchboard.core.principal import Principal
from switchboard.http.dispatch import DispatchRouter
from switchboard.http.routing import AcsRoute, Auth, route

pytestmark = pytest.mark.anyio


async def acs_handler(request: Request, _: Principal) -> Response:
    return PlainTextResponse("acs")


async def plain(request: Request) -> Response:
    return PlainTextResponse("plain")


async def socket(websocket: WebSocket) -> None:
    await websocket.close()


async def mounted(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("mounted")(scope, receive, send)


def acs(path: str, method: str) -> AcsRoute:
    return route(path, acs_handler, methods=[method], auth=Auth.NONE)


ROUTES: list[BaseRoute] = [
    Route("/health", plain, methods=["GET"]),
    acs("/identities", "POST"),
    acs("/identities/{id}", "DELETE"),
    acs("/identities/{id}/:issueAccessToken", "POST"),
    acs("/chat/threads/{id}", "GET"),
    acs("/chat/threads/{id}", "PATCH"),
    acs("/chat/threads/{id}/messages", "POST"),
    WebSocketRoute("/chat/realtime", socket),
    Mount("/sdk", mounted),
    acs("/{anything}/wildcard", "GET"),  # a parameter in the first segment: in every list
    acs("/", "GET"),
]

METHODS = ["GET", "POST", "DELETE", "PATCH", "PUT", "HEAD", "BREW"]
SEGMENTS = ["identities", "IDENTITIES", "Chat", "chat", "threads", "health", "sdk", "%69dentities"]
SEGMENTS += ["realtime", "messages", "x", "8%3Aacs%3Ab", ":issueAccessToken", "wildcard", ""]


def linear_choice(routes: list[BaseRoute], scope: Scope) -> tuple[BaseRoute | None, bool]:
    """What Starlette's Router.app does: the first FULL match, else the first PARTIAL."""
    partial = None
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            return candidate, True
        if match is Match.PARTIAL and partial is None:
            partial = candidate
    return partial, False


def scope_for(kind: str, method: str, raw_path: str) -> Scope:
    scope: dict[str, Any] = {
        "type": kind,
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("latin-1"),
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }
    if kind == "http":
        scope["method"] = method
    return scope


@settings(max_examples=500, deadline=None)
@given(
    kind=st.sampled_from(["http", "websocket"]),
    method=st.sampled_from(METHODS),
    segments=st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=4),
)
def test_dispatch_picks_the_route_a_linear_scan_picks(
    kind: str, method: str, segments: list[str]
) -> None:
    router = DispatchRouter(ROUTES)
    scope = scope_for(kind, method, "/" + "/".join(segments))
    expected, full = linear_choice(router.routes, scope)
    for _ in range(2):  # the second time, a full match of an ACS route is remembered
        chosen, child_scope = router.choose(scope)
        assert chosen is expected
        if chosen is not None:
            assert (chosen.matches(scope)[0] is Match.FULL) == full
            assert child_scope == chosen.matches(scope)[1]


class Recorder:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def send(self, message: Any) -> None:
        self.messages.append(message)


async def receive() -> Any:
    return {"type": "http.request", "body": b"", "more_body": False}


async def call(router: DispatchRouter, method: str, raw_path: str) -> Recorder:
    recorder = Recorder()
    await router(scope_for("http", method, raw_path), receive, recorder.send)
    return recorder


async def test_acs_paths_match_in_any_case_through_the_index() -> None:
    router = DispatchRouter(ROUTES)
    recorder = await call(router, "POST", "/IDENTITIES/8%3Aacs%3Ab/:ISSUEACCESSTOKEN")
    assert recorder.messages[0]["status"] == 200
    assert recorder.messages[1]["body"] == b"acs"


async def test_a_known_path_with_another_method_is_a_405() -> None:
    router = DispatchRouter(ROUTES)
    with pytest.raises(MethodNotAllowedError):
        await call(router, "PUT", "/chat/threads/abc")


async def test_an_unknown_path_goes_to_the_default() -> None:
    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        raise NotFoundError("nothing here")

    router = DispatchRouter(ROUTES, default=not_found)
    with pytest.raises(NotFoundError):
        await call(router, "GET", "/nowhere/at/all")


async def test_mounts_and_plain_routes_are_dispatched_on_the_decoded_path() -> None:
    router = DispatchRouter(ROUTES)
    mounted_reply = await call(router, "GET", "/sdk/x.js")
    plain_reply = await call(router, "GET", "/health")
    assert mounted_reply.messages[1]["body"] == b"mounted"
    assert plain_reply.messages[1]["body"] == b"plain"


async def test_the_matched_route_is_left_in_the_scope_for_metrics() -> None:
    router = DispatchRouter(ROUTES)
    scope = scope_for("http", "DELETE", "/identities/abc")
    await router(scope, receive, Recorder().send)
    assert getattr(scope["route"], "path", None) == "/identities/{id}"
    assert scope["path_params"] == {"id": "abc"}


async def test_a_remembered_match_gives_each_request_its_own_path_params() -> None:
    router = DispatchRouter(ROUTES)
    scopes = [scope_for("http", "DELETE", "/identities/8%3Aacs%3Ab") for _ in range(3)]
    for scope in scopes:
        await router(scope, receive, Recorder().send)
        assert scope["path_params"] == {"id": "8:acs:b"}
        assert scope["route"] is scopes[0]["route"]
        scope["path_params"]["id"] = "changed by a handler"


def test_redirecting_slashes_is_refused() -> None:
    with pytest.raises(ValueError, match="slashes"):
        DispatchRouter(ROUTES, redirect_slashes=True)


async def test_lifespan_is_handled_as_starlette_does() -> None:
    started: list[bool] = []
    router = DispatchRouter([])
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def lifespan_receive() -> Any:
        return next(messages)

    async def lifespan_send(message: Any) -> None:
        started.append(message["type"].endswith("complete"))

    await router({"type": "lifespan", "state": {}}, lifespan_receive, lifespan_send)
    assert started == [True, True]
