"""Network Traversal wire shapes (2021-06-21-preview … 2022-03-01-preview)."""

from __future__ import annotations

from typing import Any

import msgspec

from switchboard.core.clock import iso8601
from switchboard.traversal.service import RelayConfiguration


class RelayConfigurationRequest(msgspec.Struct, rename="camel"):
    id: str | None = None
    route_type: str | None = None
    ttl: int | None = None  # 2022-03-01-preview; the SDK always sends it (default 172800)


def relay_configuration_json(config: RelayConfiguration) -> dict[str, Any]:
    return {
        "expiresOn": iso8601(config.expires_at),
        "iceServers": [
            {
                "urls": list(server.urls),
                "username": server.credential.username,
                "credential": server.credential.password,
                "routeType": server.route_type.value,
            }
            for server in config.ice_servers
        ],
    }
