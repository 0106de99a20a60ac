"""CommunicationIdentifier: the one model of "who" shared by every domain.

The raw id is the canonical form (section 1.9 of the wire reference); the kind and its
fields are derived from it, exactly as the SDKs' ``identifier_from_raw_id`` does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from switchboard.core.errors import BadRequestError


class IdentifierKind(StrEnum):
    UNKNOWN = "unknown"
    COMMUNICATION_USER = "communicationUser"
    PHONE_NUMBER = "phoneNumber"
    MICROSOFT_TEAMS_USER = "microsoftTeamsUser"
    MICROSOFT_TEAMS_APP = "microsoftTeamsApp"
    TEAMS_EXTENSION_USER = "teamsExtensionUser"


class TeamsCloud(StrEnum):
    PUBLIC = "public"
    DOD = "dod"
    GCCH = "gcch"


ACS_USER_PREFIXES = ("8:acs:", "8:dod-acs:", "8:gcch-acs:", "8:spool:")
_TEAMS_USER_PREFIXES = {
    "8:orgid:": TeamsCloud.PUBLIC,
    "8:dod:": TeamsCloud.DOD,
    "8:gcch:": TeamsCloud.GCCH,
}
_TEAMS_APP_PREFIXES = {
    "28:orgid:": TeamsCloud.PUBLIC,
    "28:dod:": TeamsCloud.DOD,
    "28:gcch:": TeamsCloud.GCCH,
    "28:dod-global:": TeamsCloud.DOD,
    "28:gcch-global:": TeamsCloud.GCCH,
}


@dataclass(frozen=True, slots=True)
class CommunicationIdentifier:
    """An identifier; ``raw_id`` is the key, the other fields describe it."""

    raw_id: str
    kind: IdentifierKind
    value: str  # user id, phone number, Teams user/app id, or the raw id for unknown
    is_anonymous: bool = False
    cloud: TeamsCloud | None = None
    tenant_id: str | None = None
    resource_id: str | None = None


def identifier_from_raw_id(raw_id: str) -> CommunicationIdentifier:
    """Classify a raw id with the SDKs' grammar; unknown prefixes are kind ``unknown``."""
    if not raw_id:
        raise BadRequestError("A communication identifier must have a non-empty rawId.")
    if raw_id.startswith("4:"):
        number = raw_id[2:]
        return CommunicationIdentifier(
            raw_id,
            IdentifierKind.PHONE_NUMBER,
            number,
            is_anonymous=number == "anonymous",
        )
    for prefix in ACS_USER_PREFIXES:
        if raw_id.startswith(prefix):
            parts = raw_id[len(prefix) :].split("_")
            if len(parts) == 3:
                resource, tenant, user = parts
                return CommunicationIdentifier(
                    raw_id,
                    IdentifierKind.TEAMS_EXTENSION_USER,
                    user,
                    tenant_id=tenant,
                    resource_id=resource,
                )
            return CommunicationIdentifier(raw_id, IdentifierKind.COMMUNICATION_USER, raw_id)
    if raw_id.startswith("8:teamsvisitor:"):
        return CommunicationIdentifier(
            raw_id,
            IdentifierKind.MICROSOFT_TEAMS_USER,
            raw_id[len("8:teamsvisitor:") :],
            is_anonymous=True,
            cloud=TeamsCloud.PUBLIC,
        )
    for prefix, cloud in _TEAMS_USER_PREFIXES.items():
        if raw_id.startswith(prefix):
            return CommunicationIdentifier(
                raw_id, IdentifierKind.MICROSOFT_TEAMS_USER, raw_id[len(prefix) :], cloud=cloud
            )
    for prefix, cloud in _TEAMS_APP_PREFIXES.items():
        if raw_id.startswith(prefix):
            return CommunicationIdentifier(
                raw_id, IdentifierKind.MICROSOFT_TEAMS_APP, raw_id[len(prefix) :], cloud=cloud
            )
    return CommunicationIdentifier(raw_id, IdentifierKind.UNKNOWN, raw_id)


def new_acs_user_id(resource_id: str) -> str:
    """``8:acs:<resourceId>_<uuid>``: exactly one underscore after the prefix (1.9)."""
    return f"8:acs:{resource_id}_{uuid.uuid4()}"


def is_acs_user_id(raw_id: str) -> bool:
    return identifier_from_raw_id(raw_id).kind is IdentifierKind.COMMUNICATION_USER
