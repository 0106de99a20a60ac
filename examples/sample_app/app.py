"""The sample app's HTTP surface: the static client, and its identity / call management API.

    POST /api/signin {name}        → {session, name, userId}     (no session needed)
    POST /api/token                → {token, expiresOn}          chat + voip scopes
    GET  /api/friends              → [{name, userId, threadId}]
    POST /api/friends {name}       → the friend (and your 1:1 chat thread)
    GET  /api/me                   → {name, userId}  (a page reloaded with its session)
    GET  /api/chat/{friend}        → messages;  POST /api/chat/{friend} {text}
    POST /api/chat/{friend}/typing → 204: a typing notification to the friend
    POST /api/chat/{friend}/read {messageId}  → 204: a read receipt
    GET  /api/chat/{friend}/receipts → [{senderId, chatMessageId, readOn}]
    GET  /api/groupcalls           → calls you host or are invited to
    POST /api/groupcalls {invite}  → {groupCallId, host, invited}; invitees get a chat message
                                     with metadata {groupCallId}
    GET  /api/meetings             → meetings (Rooms) you organise or are on the roster of
    POST /api/meetings {invite: [{name, role: Attendee|Consumer}]}
                                   → {roomId, organiser, roster}; a Room made with the official
                                     Rooms SDK, you its Presenter; invitees get a chat message
                                     with metadata {roomId}
    GET  /api/directory            → [{name, userId}] of everyone signed in (names in calls)
    GET  /api/config               → {switchboardEndpoint}  (where the page loads the SDKs)

Every other /api call carries ``Authorization: Bearer <session>`` from /api/signin.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from azure.communication.identity.aio import CommunicationIdentityClient
from azure.communication.rooms.aio import RoomsClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from examples.sample_app.calls import GroupCalls
from examples.sample_app.chat import FriendChats
from examples.sample_app.identity import AppUser, IdentityManagement, UnknownUserError
from examples.sample_app.meetings import MeetingRole, Meetings
from examples.sample_app.settings import AppSettings

STATIC = Path(__file__).parent / "static"
Handler = Callable[[Request, AppUser], Awaitable[Response]]


class SampleApp:
    def __init__(self, settings: AppSettings, identity_client: Any, rooms_client: Any) -> None:
        self.settings = settings
        self.identity = IdentityManagement(identity_client)
        self.chats = FriendChats(settings.endpoint, self.identity, settings.ca_path)
        self.group_calls = GroupCalls()
        self.meetings = Meetings(rooms_client)

    # ---- identity management -------------------------------------------------------------

    async def sign_in(self, request: Request) -> Response:
        body = await _body(request)
        user, session = await self.identity.sign_in(str(body.get("name", "")))
        return JSONResponse({"session": session, "name": user.name, "userId": user.user_id})

    async def me(self, _: Request, user: AppUser) -> Response:
        return JSONResponse({"name": user.name, "userId": user.user_id})

    async def token(self, _: Request, user: AppUser) -> Response:
        token, expires_at = await self.identity.token(user)
        return JSONResponse({"token": token, "expiresOn": expires_at})

    async def friends(self, _: Request, user: AppUser) -> Response:
        return JSONResponse([self._friend(user, f) for f in self.identity.friends(user)])

    async def add_friend(self, request: Request, user: AppUser) -> Response:
        friend = self.identity.by_name(str((await _body(request)).get("name", "")))
        self.identity.befriend(user, friend)
        await self.chats.open_thread(user, friend)
        return JSONResponse(self._friend(user, friend), status_code=201)

    def _friend(self, user: AppUser, friend: AppUser) -> dict[str, Any]:
        thread_id = self.chats.thread_of(user, friend)
        return {"name": friend.name, "userId": friend.user_id, "threadId": thread_id}

    # ---- chat between friends ------------------------------------------------------------

    async def chat_history(self, request: Request, user: AppUser) -> Response:
        thread_id = self._thread(request, user)
        return JSONResponse(await self.chats.history(user, thread_id))

    async def chat_send(self, request: Request, user: AppUser) -> Response:
        thread_id = self._thread(request, user)
        text = str((await _body(request)).get("text", "")).strip()
        if not text:
            raise ValueError("an empty message")
        message_id = await self.chats.send(user, thread_id, text)
        return JSONResponse({"id": message_id}, status_code=201)

    async def chat_typing(self, request: Request, user: AppUser) -> Response:
        await self.chats.typing(user, self._thread(request, user))
        return Response(status_code=204)

    async def chat_read(self, request: Request, user: AppUser) -> Response:
        thread_id = self._thread(request, user)
        message_id = str((await _body(request)).get("messageId", "")).strip()
        if not message_id:
            raise ValueError("messageId is required")
        await self.chats.read(user, thread_id, message_id)
        return Response(status_code=204)

    async def chat_receipts(self, request: Request, user: AppUser) -> Response:
        thread_id = self._thread(request, user)
        return JSONResponse(await self.chats.receipts(user, thread_id))

    def _thread(self, request: Request, user: AppUser) -> str:
        friend = self.identity.by_name(request.path_params["friend"])
        is_friend = friend.name.lower() in user.friends
        thread_id = self.chats.thread_of(user, friend) if is_friend else None
        if thread_id is None:
            raise UnknownUserError(f"{friend.name} is not your friend")
        return thread_id

    # ---- call management -----------------------------------------------------------------

    async def list_group_calls(self, _: Request, user: AppUser) -> Response:
        return JSONResponse([c.json() for c in self.group_calls.for_user(user)])

    async def create_group_call(self, request: Request, user: AppUser) -> Response:
        names = (await _body(request)).get("invite") or []
        if not isinstance(names, list):
            raise ValueError("invite is a list of names")
        invited = self._friends_named(user, [str(n) for n in names])
        call = self.group_calls.create(user, invited)
        text = f"{user.name} invites you to a group call"
        await self._invite(user, invited, text, {"groupCallId": call.group_call_id})
        return JSONResponse(call.json(), status_code=201)

    async def list_meetings(self, _: Request, user: AppUser) -> Response:
        return JSONResponse([m.json() for m in self.meetings.for_user(user)])

    async def create_meeting(self, request: Request, user: AppUser) -> Response:
        entries = (await _body(request)).get("invite") or []
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ValueError("invite is a list of {name, role}")
        invited = self._friends_named(user, [str(e.get("name", "")) for e in entries])
        roles = [MeetingRole(str(e.get("role", MeetingRole.ATTENDEE))) for e in entries]
        meeting = await self.meetings.create(user, list(zip(invited, roles, strict=True)))
        text = f"{user.name} invites you to a meeting"
        await self._invite(user, invited, text, {"roomId": meeting.room_id})
        return JSONResponse(meeting.json(), status_code=201)

    async def directory(self, _: Request, __: AppUser) -> Response:
        return JSONResponse([{"name": u.name, "userId": u.user_id} for u in self.identity.all()])

    def _friends_named(self, user: AppUser, names: list[str]) -> list[AppUser]:
        invited = [self.identity.by_name(n) for n in names]
        strangers = [u.name for u in invited if u.name.lower() not in user.friends]
        if strangers:
            raise UnknownUserError(f"not your friends: {', '.join(strangers)}")
        return invited

    async def _invite(
        self, host: AppUser, invited: list[AppUser], text: str, metadata: dict[str, str]
    ) -> None:
        """Tell each invitee in real time: a chat message in your 1:1 thread, whose metadata
        the page reads as an invitation."""
        for friend in invited:
            thread_id = self.chats.thread_of(host, friend)
            if thread_id is not None:
                await self.chats.send(host, thread_id, text, metadata)

    # ---- the rest ------------------------------------------------------------------------

    async def config(self, _: Request) -> Response:
        return JSONResponse({"switchboardEndpoint": self.settings.endpoint})

    async def index(self, _: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    def signed_in(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            user = self.identity.by_session(header.removeprefix("Bearer ").strip())
            return await handler(request, user)

        return endpoint


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValueError("a JSON object is expected")
    return body


async def _bad_request(_: Request, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, status_code=400)


async def _unknown_user(_: Request, exc: Exception) -> Response:
    status = 401 if str(exc) == "not signed in" else 404
    return JSONResponse({"error": str(exc)}, status_code=status)


def create_app(settings: AppSettings) -> Starlette:
    verify: Any = settings.ca_path or True
    identity_client = CommunicationIdentityClient.from_connection_string(
        settings.connection_string, connection_verify=verify
    )
    rooms_client = RoomsClient.from_connection_string(
        settings.connection_string, connection_verify=verify
    )
    app = SampleApp(settings, identity_client, rooms_client)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with identity_client, rooms_client:
            yield

    auth = app.signed_in
    routes = [
        Route("/", app.index),
        Route("/api/config", app.config),
        Route("/api/signin", app.sign_in, methods=["POST"]),
        Route("/api/me", auth(app.me), methods=["GET"]),
        Route("/api/token", auth(app.token), methods=["POST"]),
        Route("/api/friends", auth(app.friends), methods=["GET"]),
        Route("/api/friends", auth(app.add_friend), methods=["POST"]),
        Route("/api/chat/{friend}", auth(app.chat_history), methods=["GET"]),
        Route("/api/chat/{friend}", auth(app.chat_send), methods=["POST"]),
        Route("/api/chat/{friend}/typing", auth(app.chat_typing), methods=["POST"]),
        Route("/api/chat/{friend}/read", auth(app.chat_read), methods=["POST"]),
        Route("/api/chat/{friend}/receipts", auth(app.chat_receipts), methods=["GET"]),
        Route("/api/groupcalls", auth(app.list_group_calls), methods=["GET"]),
        Route("/api/groupcalls", auth(app.create_group_call), methods=["POST"]),
        Route("/api/meetings", auth(app.list_meetings), methods=["GET"]),
        Route("/api/meetings", auth(app.create_meeting), methods=["POST"]),
        Route("/api/directory", auth(app.directory), methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC)),
    ]
    handlers = {ValueError: _bad_request, UnknownUserError: _unknown_user}
    return Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
