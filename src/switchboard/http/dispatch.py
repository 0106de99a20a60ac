"""A Starlette Router that tries only the routes that can match, found by a dict lookup.

Starlette's Router asks every route in turn (a regex per route, ~60 routes here); this one
indexes the routes by the literal first segment of their path and by method, once, and asks
only those, in their original order:

    scope ─▶ a full match of an ACS route remembered for this method and path? → handle
          ─▶ key (method, first raw segment lowercased, first path segment)
          ─▶ cached (candidates, same-segment routes)
          ─▶ first FULL match among candidates          → handle (a thread or call id
                                                            among its path parameters
                                                            goes on the log lines)
          ─▶ else first PARTIAL among same-segment ones  → handle (405 from the route)
          ─▶ else default (404)

The result is the one Starlette's linear scan gives. A route that could match whatever the
request's first segment is (a parameter there, or no ``path``) is in every list. ACS routes
match the raw path case-insensitively (``AcsRoute``), other routes the decoded path as
Starlette does, so each kind is keyed on its own form of the first segment. Requests whose
keys are not plain ASCII, or with a ``root_path``, fall back to the full list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.core.logs import call_id_var, thread_id_var
from switchboard.http.routing import AcsRoute

_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

Candidates = tuple[tuple[BaseRoute, ...], tuple[BaseRoute, ...]]
MatchKey = tuple[str, bytes | None, str]

# Full matches of ACS routes remembered by request line: the same targets come back request
# after request (a token for the same user), and a match costs a regex per candidate route.
_MATCHED_ENTRIES = 4096


def _match_key(scope: Scope) -> MatchKey | None:
    """What decides which route fully matches an HTTP request at the top level: the method
    and the path (raw and decoded); None when more does (a root path, outer path params)."""
    if scope["type"] != "http" or scope.get("root_path") or "path_params" in scope:
        return None
    return (scope["method"], scope.get("raw_path"), scope["path"])


def _first_segment(path: str) -> str | None:
    """``"identities"`` for ``/identities/x``; None unless the path starts with ``/``."""
    if not path.startswith("/"):
        return None
    return path[1:].partition("/")[0]


def _template_key(route: BaseRoute) -> str | None:
    """The literal first segment every path this route matches starts with; None if any."""
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return None
    segment = _first_segment(path)
    if segment is None or "{" in segment:
        return None
    return segment.lower() if isinstance(route, AcsRoute) else segment


def _set_log_ids(params: dict[str, object]) -> None:
    """The thread or call a request is about, for its log lines (core/logs.py): the request
    runs in a task of its own, so the ids end with it."""
    thread_id = params.get("thread_id")
    if isinstance(thread_id, str):
        thread_id_var.set(thread_id)
    call_id = params.get("callConnectionId")
    if isinstance(call_id, str):
        call_id_var.set(call_id)


class DispatchRouter(Router):
    def __init__(
        self,
        routes: Sequence[BaseRoute],
        *,
        default: ASGIApp | None = None,
        redirect_slashes: bool = False,
    ) -> None:
        if redirect_slashes:
            raise ValueError("DispatchRouter does not redirect slashes")
        super().__init__(routes=list(routes), redirect_slashes=False, default=default)
        self._raw_keys = frozenset(
            key
            for r in self.routes
            if isinstance(r, AcsRoute) and (key := _template_key(r)) is not None
        )
        self._path_keys = frozenset(
            key
            for r in self.routes
            if not isinstance(r, AcsRoute) and (key := _template_key(r)) is not None
        )
        self._cache: dict[tuple[str | None, str | None, str | None], Candidates] = {}
        self._every: Candidates = (tuple(self.routes), tuple(self.routes))
        self._matched: dict[tuple[str, bytes | None, str], tuple[AcsRoute, dict[str, Any]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Dispatches here rather than through Starlette's ``middleware_stack`` (which is
        # ``app``, this router taking no middleware): one coroutine less on every request.
        if scope["type"] == "lifespan":
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        route, child_scope = self.choose(scope)
        if route is None:
            await self.default(scope, receive, send)
            return
        scope["route"] = route
        scope.update(child_scope)
        params = child_scope.get("path_params")
        if params:
            _set_log_ids(params)
        await route.handle(scope, receive, send)

    app = __call__

    def choose(self, scope: Scope) -> tuple[BaseRoute | None, Scope]:
        """The route Starlette's scan would pick (first FULL, else first PARTIAL match)."""
        key = _match_key(scope)
        if key is not None:
            known = self._matched.get(key)
            if known is not None:
                acs_route, params = known
                return acs_route, {"endpoint": acs_route.endpoint, "path_params": dict(params)}
        candidates, same_segment = self._candidates(scope)
        for route in candidates:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                if key is not None and isinstance(route, AcsRoute):
                    self._remember(key, route, child_scope["path_params"])
                return route, child_scope
        for route in same_segment:
            match, child_scope = route.matches(scope)
            if match is Match.PARTIAL:
                return route, child_scope
        return None, {}

    def _remember(self, key: MatchKey, route: AcsRoute, params: dict[str, Any]) -> None:
        if len(self._matched) >= _MATCHED_ENTRIES:
            self._matched.clear()  # many distinct ids: start over rather than track use
        self._matched[key] = (route, dict(params))

    def _candidates(self, scope: Scope) -> Candidates:
        path: str = scope["path"]
        raw: bytes | None = scope.get("raw_path")
        raw_path = raw.decode("latin-1") if raw else path
        raw_key = _first_segment(raw_path)
        path_key = _first_segment(path)
        if (
            scope.get("root_path")
            or raw_key is None
            or path_key is None
            or not raw_key.isascii()
            or not path_key.isascii()
        ):
            return self._every
        raw_key = raw_key.lower()
        method = scope.get("method") if scope["type"] == "http" else None
        key = (
            method if method in _KNOWN_METHODS else None,
            raw_key if raw_key in self._raw_keys else None,
            path_key if path_key in self._path_keys else None,
        )
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._build(*key)
        return found

    def _build(self, method: str | None, raw_key: str | None, path_key: str | None) -> Candidates:
        same_segment = tuple(
            route
            for route in self.routes
            if (key := _template_key(route)) is None
            or key == (raw_key if isinstance(route, AcsRoute) else path_key)
        )
        if method is None:
            return same_segment, same_segment
        candidates = tuple(
            route
            for route in same_segment
            if (methods := getattr(route, "methods", None)) is None or method in methods
        )
        return candidates, same_segment
