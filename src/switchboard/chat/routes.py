"""Chat HTTP routes (section 3 of the wire reference): parse → ChatService → render."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from switchboard.chat import schemas
from switchboard.chat.models import RetentionPolicy
from switchboard.chat.roster import ChatRosterService
from switchboard.chat.service import ChatService
from switchboard.core.principal import Principal
from switchboard.http.apiversion import CHAT_VERSIONS
from switchboard.http.auth import Authenticator
from switchboard.http.identifiers import identifier_from_json
from switchboard.http.json import decode_json, empty_response, json_response, read_body
from switchboard.http.paging import ContinuationCodec, next_link, page_size, parse_skip
from switchboard.http.repeatability import Repeatability
from switchboard.http.routing import (
    Auth,
    request_api_version,
    request_authority,
    request_origin,
    routes_for,
)

DEFAULT_PAGE = 100
MAX_PAGE = 200
BODY_LIMIT = 256 * 1024  # messages are capped at 28 KB; leave room for JSON escaping


def chat_routes(
    service: ChatService,
    roster: ChatRosterService,
    authenticator: Authenticator,
    paging: ContinuationCodec,
    repeatability: Repeatability,
) -> list[BaseRoute]:
    async def body_of(request: Request) -> bytes:
        return await read_body(request, BODY_LIMIT)

    def size(request: Request) -> int:
        return page_size(
            request.query_params.get("maxPageSize"), default=DEFAULT_PAGE, maximum=MAX_PAGE
        )

    def start_time(request: Request) -> int | None:
        return schemas.parse_time(request.query_params.get("startTime"), "startTime")

    def skip(request: Request) -> int:
        return parse_skip(request.query_params.get("skip"))

    def thread_path(thread_id: str, tail: str) -> str:
        return f"/chat/threads/{quote(thread_id, safe='')}/{tail}"

    def location(request: Request, thread_id: str, *tail: str) -> dict[str, str]:
        # As ACS writes it: the endpoint's full URL, the thread id's ':' escaped, '@' kept.
        path = "/".join(("/chat/threads", quote(thread_id, safe="@"), *tail))
        return {"Location": request_authority(request) + path}

    def retention(body: schemas.RetentionPolicyIn | None) -> RetentionPolicy | None:
        if body is None:
            return None
        return service.rules.retention_policy(body.kind, body.delete_thread_after_days)

    async def create_thread(request: Request, principal: Principal) -> Response:
        async def create() -> Response:
            body = decode_json(await body_of(request), schemas.CreateThreadRequest)
            participants = [p.to_model() for p in body.participants]
            thread, invalid = await service.create_thread(
                principal,
                body.topic,
                participants,
                metadata=body.metadata,
                retention=retention(body.retention_policy),
            )
            return json_response(
                schemas.created_thread_json(thread, invalid),
                201,
                headers=location(request, thread.id),
            )

        return await repeatability.run(request, f"chat.threads:{principal.user_id}", create)

    async def list_threads(request: Request, principal: Principal) -> Response:
        limit = size(request)
        token = request.query_params.get("continuationToken")
        state = paging.decode(token) if token else None
        after = (int(state["c"]), str(state["i"])) if state else None
        start = start_time(request)
        threads = await service.list_threads(principal, start, after, limit)
        body: dict[str, object] = {"value": [schemas.thread_item_json(t) for t in threads]}
        if len(threads) == limit:
            last = threads[-1]
            params = {
                "continuationToken": paging.encode({"c": last.created_ms, "i": last.id}),
                "maxPageSize": str(limit),
            }
            if request.query_params.get("startTime"):
                params["startTime"] = request.query_params["startTime"]
            body["nextLink"] = next_link(
                "/chat/threads",
                params,
                api_version=request_api_version(request),
                origin=request_origin(request),
            )
        return json_response(body)

    async def get_thread(request: Request, principal: Principal) -> Response:
        thread = await service.get_thread(principal, request.path_params["thread_id"])
        return json_response(schemas.thread_json(thread))

    async def update_thread(request: Request, principal: Principal) -> Response:
        body = decode_json(await body_of(request), schemas.UpdateThreadRequest)
        await service.update_thread(
            principal,
            request.path_params["thread_id"],
            topic=body.topic,
            metadata=body.metadata,
            retention=retention(body.retention_policy),
        )
        return empty_response(204)

    async def delete_thread(request: Request, principal: Principal) -> Response:
        await service.delete_thread(principal, request.path_params["thread_id"])
        return empty_response(204)

    async def send_message(request: Request, principal: Principal) -> Response:
        body = decode_json(await body_of(request), schemas.SendMessageRequest)
        schemas.refuse_attachments(body.attachments)
        thread_id = request.path_params["thread_id"]
        message = await service.send_message(
            principal, thread_id, body.content, body.type, body.sender_display_name, body.metadata
        )
        return json_response(
            {"id": message.id}, 201, headers=location(request, thread_id, "messages", message.id)
        )

    async def list_messages(request: Request, principal: Principal) -> Response:
        thread_id = request.path_params["thread_id"]
        limit = size(request)
        token = request.query_params.get("continuationToken")
        state = paging.decode(token) if token else None
        if state is not None and state.get("t") != thread_id:
            state = None  # a token from another thread means nothing here
        before = int(state["s"]) if state else None
        start = start_time(request)
        messages = await service.list_messages(principal, thread_id, start, before, limit)
        body: dict[str, object] = {"value": [schemas.message_json(m) for m in messages]}
        if len(messages) == limit:
            params = {
                "continuationToken": paging.encode({"t": thread_id, "s": messages[-1].sequence_id}),
                "maxPageSize": str(limit),
            }
            if request.query_params.get("startTime"):
                params["startTime"] = request.query_params["startTime"]
            body["nextLink"] = next_link(
                thread_path(thread_id, "messages"),
                params,
                api_version=request_api_version(request),
                origin=request_origin(request),
            )
        return json_response(body)

    async def get_message(request: Request, principal: Principal) -> Response:
        message = await service.get_message(
            principal, request.path_params["thread_id"], request.path_params["message_id"]
        )
        return json_response(schemas.message_json(message))

    async def update_message(request: Request, principal: Principal) -> Response:
        body = decode_json(await body_of(request), schemas.UpdateMessageRequest)
        schemas.refuse_attachments(body.attachments)
        await service.update_message(
            principal,
            request.path_params["thread_id"],
            request.path_params["message_id"],
            body.content,
            body.metadata,
        )
        return empty_response(204)

    async def delete_message(request: Request, principal: Principal) -> Response:
        await service.delete_message(
            principal, request.path_params["thread_id"], request.path_params["message_id"]
        )
        return empty_response(204)

    async def list_participants(request: Request, principal: Principal) -> Response:
        limit, offset = size(request), skip(request)
        participants = await roster.list_participants(
            principal, request.path_params["thread_id"], offset, limit
        )
        body: dict[str, object] = {"value": [schemas.participant_json(p) for p in participants]}
        if len(participants) == limit:
            body["nextLink"] = next_link(
                thread_path(request.path_params["thread_id"], "participants"),
                {"skip": str(offset + limit), "maxPageSize": str(limit)},
                api_version=request_api_version(request),
                origin=request_origin(request),
            )
        return json_response(body)

    async def add_participants(request: Request, principal: Principal) -> Response:
        body = decode_json(await body_of(request), schemas.AddParticipantsRequest)
        invalid = await roster.add_participants(
            principal, request.path_params["thread_id"], [p.to_model() for p in body.participants]
        )
        result: dict[str, object] = {}
        if invalid:
            result["invalidParticipants"] = [schemas.chat_error_json(i) for i in invalid]
        return json_response(result, 201)

    async def remove_participant(request: Request, principal: Principal) -> Response:
        identifier = identifier_from_json(decode_json(await body_of(request), dict))
        await roster.remove_participant(
            principal, request.path_params["thread_id"], identifier.raw_id
        )
        return empty_response(204)

    async def send_typing(request: Request, principal: Principal) -> Response:
        body = decode_json(await body_of(request), schemas.TypingRequest, allow_empty=True)
        await roster.send_typing(
            principal, request.path_params["thread_id"], body.sender_display_name
        )
        return empty_response(200)

    async def send_read_receipt(request: Request, principal: Principal) -> Response:
        body = decode_json(await body_of(request), schemas.ReadReceiptRequest)
        await roster.send_read_receipt(
            principal, request.path_params["thread_id"], body.chat_message_id
        )
        return empty_response(200)

    async def list_read_receipts(request: Request, principal: Principal) -> Response:
        limit, offset = size(request), skip(request)
        receipts = await roster.list_read_receipts(
            principal, request.path_params["thread_id"], offset, limit
        )
        body: dict[str, object] = {"value": [schemas.read_receipt_json(r) for r in receipts]}
        if len(receipts) == limit:
            body["nextLink"] = next_link(
                thread_path(request.path_params["thread_id"], "readReceipts"),
                {"skip": str(offset + limit), "maxPageSize": str(limit)},
                api_version=request_api_version(request),
                origin=request_origin(request),
            )
        return json_response(body)

    chat = routes_for(auth=Auth.BEARER, authenticator=authenticator, versions=CHAT_VERSIONS)

    thread = "/chat/threads/{thread_id}"
    message = thread + "/messages/{message_id}"
    return [
        chat("/chat/threads", create_thread, "POST"),
        chat("/chat/threads", list_threads, "GET"),
        chat(thread, get_thread, "GET"),
        chat(thread, update_thread, "PATCH"),
        chat(thread, delete_thread, "DELETE"),
        chat(thread + "/messages", send_message, "POST"),
        chat(thread + "/messages", list_messages, "GET"),
        chat(message, get_message, "GET"),
        chat(message, update_message, "PATCH"),
        chat(message, delete_message, "DELETE"),
        chat(thread + "/participants", list_participants, "GET"),
        chat(thread + "/participants/:add", add_participants, "POST"),
        chat(thread + "/participants/:remove", remove_participant, "POST"),
        chat(thread + "/typing", send_typing, "POST"),
        chat(thread + "/readReceipts", send_read_receipt, "POST"),
        chat(thread + "/readReceipts", list_read_receipts, "GET"),
    ]
