"""Who may do what in chat: scopes (section 1.4 of the wire reference) and membership."""

from __future__ import annotations

from switchboard.chat.models import Participant
from switchboard.core.errors import PermissionDeniedError
from switchboard.core.principal import Principal

CHAT = "chat"
CHAT_JOIN = "chat.join"
CHAT_JOIN_LIMITED = "chat.join.limited"
ANY_CHAT = (CHAT, CHAT_JOIN, CHAT_JOIN_LIMITED)


def caller(principal: Principal) -> str:
    """The calling user; chat needs one of the chat scopes for anything at all."""
    principal.require_scope(*ANY_CHAT)
    if principal.user_id is None:
        raise PermissionDeniedError("Chat operations need a user access token.")
    return principal.user_id


def require_thread_admin(principal: Principal) -> None:
    """Create/delete a thread, change its topic: the full ``chat`` scope."""
    principal.require_scope(CHAT)


def require_roster_change(principal: Principal) -> None:
    """Add/remove participants: ``chat`` or ``chat.join`` (not ``chat.join.limited``)."""
    principal.require_scope(CHAT, CHAT_JOIN)


def require_active(participant: Participant | None, thread_id: str) -> Participant:
    if participant is None or not participant.is_active:
        raise PermissionDeniedError(
            f"The caller is not a participant of thread '{thread_id}'.", code="NotAParticipant"
        )
    return participant


def require_reader(participant: Participant | None, thread_id: str) -> Participant:
    """Readers include removed participants: they keep the history up to their removal."""
    if participant is None:
        raise PermissionDeniedError(
            f"The caller is not a participant of thread '{thread_id}'.", code="NotAParticipant"
        )
    return participant
