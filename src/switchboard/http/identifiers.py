"""CommunicationIdentifier JSON (section 1.9): parsed with or without ``kind``; emits ``rawId``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchboard.core.errors import BadRequestError
from switchboard.core.identifiers import (
    CommunicationIdentifier,
    IdentifierKind,
    identifier_from_raw_id,
)

_KIND_KEYS = {
    "communicationUser": IdentifierKind.COMMUNICATION_USER,
    "phoneNumber": IdentifierKind.PHONE_NUMBER,
    "microsoftTeamsUser": IdentifierKind.MICROSOFT_TEAMS_USER,
    "microsoftTeamsApp": IdentifierKind.MICROSOFT_TEAMS_APP,
    "teamsExtensionUser": IdentifierKind.TEAMS_EXTENSION_USER,
}


def identifier_from_json(data: Mapping[str, Any]) -> CommunicationIdentifier:
    """Parse an identifier; ``rawId`` wins, else it is rebuilt from the kind object."""
    if not isinstance(data, Mapping):
        raise BadRequestError("A communication identifier must be a JSON object.")
    raw_id = data.get("rawId")
    if isinstance(raw_id, str) and raw_id:
        return identifier_from_raw_id(raw_id)
    user = data.get("communicationUser")
    if isinstance(user, Mapping) and isinstance(user.get("id"), str):
        return identifier_from_raw_id(user["id"])
    phone = data.get("phoneNumber")
    if isinstance(phone, Mapping) and isinstance(phone.get("value"), str):
        return identifier_from_raw_id("4:" + phone["value"])
    teams = data.get("microsoftTeamsUser")
    if isinstance(teams, Mapping) and isinstance(teams.get("userId"), str):
        prefix = "8:teamsvisitor:" if teams.get("isAnonymous") else "8:orgid:"
        return identifier_from_raw_id(prefix + teams["userId"])
    app = data.get("microsoftTeamsApp")
    if isinstance(app, Mapping) and isinstance(app.get("appId"), str):
        return identifier_from_raw_id("28:orgid:" + app["appId"])
    raise BadRequestError("The communication identifier has neither a rawId nor a known kind.")


def identifier_to_json(identifier: CommunicationIdentifier) -> dict[str, Any]:
    body: dict[str, Any] = {"rawId": identifier.raw_id, "kind": identifier.kind.value}
    kind = identifier.kind
    if kind is IdentifierKind.COMMUNICATION_USER:
        body["communicationUser"] = {"id": identifier.raw_id}
    elif kind is IdentifierKind.PHONE_NUMBER:
        phone: dict[str, Any] = {"value": identifier.value}
        if identifier.is_anonymous:
            phone["isAnonymous"] = True
        body["phoneNumber"] = phone
    elif kind is IdentifierKind.MICROSOFT_TEAMS_USER:
        body["microsoftTeamsUser"] = {
            "userId": identifier.value,
            "isAnonymous": identifier.is_anonymous,
            "cloud": str(identifier.cloud or "public"),
        }
    elif kind is IdentifierKind.MICROSOFT_TEAMS_APP:
        body["microsoftTeamsApp"] = {
            "appId": identifier.value,
            "cloud": str(identifier.cloud or "public"),
        }
    elif kind is IdentifierKind.TEAMS_EXTENSION_USER:
        body["teamsExtensionUser"] = {
            "userId": identifier.value,
            "tenantId": identifier.tenant_id,
            "resourceId": identifier.resource_id,
        }
    return body


def user_identifier_json(user_id: str) -> dict[str, Any]:
    return identifier_to_json(identifier_from_raw_id(user_id))
