"""Admin routes for events (ours, docs/events.md), HMAC with the data plane's access key.

PUT    /admin/eventSubscriptions/{name}[?skipValidation=true]   create or replace
GET    /admin/eventSubscriptions/{name}                          one
GET    /admin/eventSubscriptions[?maxPageSize&continuationToken] list, by name
DELETE /admin/eventSubscriptions/{name}
GET    /admin/deadLetters[?subscriptionName&maxPageSize&continuationToken]
POST   /admin/deadLetters/{id}:replay
POST   /admin/deadLetters:replay[?subscriptionName]                replay all
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from switchboard.core.errors import BadRequestError
from switchboard.core.principal import Principal
from switchboard.events import schemas
from switchboard.events.service import DeadLetterService, SubscriptionService
from switchboard.http.auth import Authenticator
from switchboard.http.json import decode_json, empty_response, json_response, read_body
from switchboard.http.paging import ContinuationCodec, next_link, page_size
from switchboard.http.routing import Auth, request_api_version, routes_for

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100


def events_routes(
    subscriptions: SubscriptionService,
    dead_letters: DeadLetterService,
    authenticator: Authenticator,
    paging: ContinuationCodec,
    *,
    topic: str,
) -> list[BaseRoute]:
    async def put_subscription(request: Request, _: Principal) -> Response:
        name = request.path_params["name"]
        body = decode_json(await read_body(request), schemas.SubscriptionRequest)
        skip = request.query_params.get("skipValidation", "").lower() == "true"
        subscription, created, secret = await subscriptions.put(
            schemas.subscription_spec(name, body), skip_validation=skip
        )
        return json_response(
            schemas.subscription_json(subscription, secret), 201 if created else 200
        )

    async def get_subscription(request: Request, _: Principal) -> Response:
        subscription = await subscriptions.get(request.path_params["name"])
        return json_response(schemas.subscription_json(subscription))

    async def list_subscriptions(request: Request, _: Principal) -> Response:
        state = _resume(request, paging, kind="subscriptions")
        after: str | None = None
        if state is not None:
            last = state.get("n")
            if not isinstance(last, str):
                raise _bad_token()
            after = last
        page = await subscriptions.list(after, _page_size(request))
        body: dict[str, object] = {"value": [schemas.subscription_json(s) for s in page.items]}
        if page.next_cursor is not None:
            token = paging.encode({"k": "subscriptions", "n": page.next_cursor})
            body["nextLink"] = _link(request, "/admin/eventSubscriptions", token)
        return json_response(body)

    async def delete_subscription(request: Request, _: Principal) -> Response:
        await subscriptions.delete(request.path_params["name"])
        return empty_response(204)

    async def list_dead_letters(request: Request, _: Principal) -> Response:
        subscription = request.query_params.get("subscriptionName")
        state = _resume(request, paging, kind="deadLetters")
        after: tuple[int, str] | None = None
        if state is not None:
            # The token names its filter, so it cannot page through another subscription's.
            at, last_id = state.get("t"), state.get("i")
            if state.get("s") != (subscription or ""):
                raise _bad_token()
            if not isinstance(at, int) or not isinstance(last_id, str):
                raise _bad_token()
            after = (at, last_id)
        page = await dead_letters.list(subscription, after, _page_size(request))
        body: dict[str, object] = {
            "value": [schemas.dead_letter_json(d, topic) for d in page.items]
        }
        if page.next_cursor is not None:
            at, last_id = page.next_cursor
            token = paging.encode(
                {"k": "deadLetters", "t": at, "i": last_id, "s": subscription or ""}
            )
            body["nextLink"] = _link(request, "/admin/deadLetters", token, subscription)
        return json_response(body)

    async def replay_dead_letter(request: Request, _: Principal) -> Response:
        await dead_letters.replay(request.path_params["id"])
        return empty_response(204)

    async def replay_all_dead_letters(request: Request, _: Principal) -> Response:
        count = await dead_letters.replay_all(request.query_params.get("subscriptionName"))
        return json_response({"replayed": count})

    admin = routes_for(auth=Auth.HMAC, authenticator=authenticator)

    return [
        admin("/admin/eventSubscriptions", list_subscriptions, "GET"),
        admin("/admin/eventSubscriptions/{name}", put_subscription, "PUT"),
        admin("/admin/eventSubscriptions/{name}", get_subscription, "GET"),
        admin("/admin/eventSubscriptions/{name}", delete_subscription, "DELETE"),
        admin("/admin/deadLetters", list_dead_letters, "GET"),
        admin("/admin/deadLetters:replay", replay_all_dead_letters, "POST"),
        admin("/admin/deadLetters/{id}:replay", replay_dead_letter, "POST"),
    ]


def _page_size(request: Request) -> int:
    return page_size(
        request.query_params.get("maxPageSize"), default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE
    )


def _resume(
    request: Request, paging: ContinuationCodec, *, kind: str
) -> dict[str, str | int] | None:
    token = request.query_params.get("continuationToken")
    if token is None:
        return None
    state = paging.decode(token)
    if state.get("k") != kind:  # a token of another listing
        raise _bad_token()
    return state


def _link(request: Request, path: str, token: str, subscription: str | None = None) -> str:
    params = {"continuationToken": token}
    size = request.query_params.get("maxPageSize")
    if size is not None:
        params["maxPageSize"] = size
    if subscription is not None:
        params["subscriptionName"] = subscription
    return next_link(path, params, api_version=request_api_version(request))


def _bad_token() -> BadRequestError:
    return BadRequestError("The continuation token is not valid.", code="InvalidContinuationToken")
