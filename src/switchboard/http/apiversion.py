"""``api-version`` checking and normalisation.

The Rooms SDK sends ``api-version=ApiVersion.V2025_03_13`` on next pages (an enum repr):
every service maps ``ApiVersion.VYYYY_MM_DD[_PREVIEW]`` to ``YYYY-MM-DD[-preview]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from switchboard.core.errors import InvalidApiVersionError

_ENUM_REPR = re.compile(r"^(?:ApiVersion\.)?V(\d{4})_(\d{2})_(\d{2})(_PREVIEW\d*)?$", re.IGNORECASE)


def normalize_api_version(value: str) -> str:
    match = _ENUM_REPR.match(value.strip())
    if match is None:
        return value.strip().lower()
    year, month, day, preview = match.groups()
    suffix = "-" + preview[1:].lower() if preview else ""
    return f"{year}-{month}-{day}{suffix}"


class ApiVersions:
    """The versions one ACS service accepts."""

    def __init__(self, service: str, versions: Iterable[str]) -> None:
        self.service = service
        self.versions = frozenset(versions)
        self._sorted = ", ".join(sorted(self.versions))
        # ACS answers every request of a service with this header; the SDKs log it.
        self.header = (b"api-supported-versions", self._sorted.encode())

    def check(self, raw: str | None) -> str:
        if raw in self.versions:  # the common case: exactly as listed, nothing to normalise
            return raw
        if raw is None or not raw.strip():
            raise InvalidApiVersionError(
                "The api-version query parameter is required.",
                code="MissingApiVersionParameter",
            )
        version = normalize_api_version(raw)
        if version not in self.versions:
            raise InvalidApiVersionError(
                f"The api-version '{raw}' is not supported by the {self.service} API. "
                f"Supported versions: {self._sorted}.",
                code="UnsupportedApiVersion",
            )
        return version


IDENTITY_VERSIONS = ApiVersions(
    "Identity",
    [
        "2021-03-07",
        "2021-10-31-preview",
        "2021-11-01",
        "2022-06-01",
        "2022-10-01",
        "2023-08-01",
        "2023-10-01",
        "2025-03-02-preview",
        "2025-06-30",
        "2026-09-23",
    ],
)

# Older versions differ only in fields a newer server can ignore or always send; the 2021-04-07
# and 2022-02-01 shapes (participants inside the room) are not served.
ROOMS_VERSIONS = ApiVersions(
    "Rooms",
    [
        "2023-03-31-preview",
        "2023-06-14",
        "2023-10-30-preview",
        "2024-04-15",
        "2025-02-28-preview",
        "2025-03-13",
    ],
)

NETWORK_TRAVERSAL_VERSIONS = ApiVersions(
    "Network Traversal",
    # 2021-02-22-preview1 used another route (/turn/:issueCredentials) and is not served.
    [
        "2021-06-21-preview",
        "2021-09-15-preview",
        "2021-10-08-preview",
        "2022-02-01",
        "2022-03-01-preview",
    ],
)

CHAT_VERSIONS = ApiVersions(
    "Chat",
    [
        "2021-03-07",
        "2021-04-05-preview6",
        "2021-09-07",
        "2023-11-07",
        "2024-03-07",
        "2024-06-05-preview",
        "2024-09-30",
        "2025-03-15",
    ],
)

# 2021-03-07 is what azure-communication-sms 1.1.0 sends; 2026-01-23 adds opt-outs and
# delivery reports (same send shape, plus fields we accept and ignore); 2025-05-29-preview
# (recorded by the SDKs' previews) has the same send shape and adds options we ignore.
SMS_VERSIONS = ApiVersions(
    "SMS", ["2021-03-07", "2024-12-10-preview", "2025-05-29-preview", "2026-01-23"]
)

# Phone Numbers: the versions azure-communication-phonenumbers 1.x can send. Older versions
# lack browse/reservations and localities, but their shared routes have the same shapes.
PHONE_NUMBERS_VERSIONS = ApiVersions(
    "Phone Numbers",
    [
        "2021-03-07",
        "2022-01-11-preview2",
        "2022-06-01-preview",
        "2022-12-01",
        "2023-05-01-preview",
        "2023-10-01-preview",  # the 1.2 previews' (operator information): same shared shapes
        "2024-01-31-preview",
        "2024-03-01-preview",
        "2025-02-11",
        "2025-04-01",
        "2025-06-01",
    ],
)

# Call Automation: the stable versions and the previews the SDKs have sent; 2026-03-12 is
# azure-communication-callautomation 1.6.0's.
CALL_AUTOMATION_VERSIONS = ApiVersions(
    "Call Automation",
    [
        "2023-03-15",
        "2023-06-15-preview",
        "2023-10-03-preview",
        "2023-10-15",
        "2024-04-15",
        "2024-06-15-preview",
        "2024-09-01-preview",
        "2024-09-15",
        "2025-05-15",
        "2025-06-15",
        "2025-08-15-preview",
        "2026-03-12",
    ],
)

# SIP routing (azure-communication-phonenumbers' SipRoutingClient, Python 1.4 and npm 1.5 send
# 2023-03-01): the trunks-and-routes document is the same in each of these.
SIP_ROUTING_VERSIONS = ApiVersions(
    "SIP Routing", ["2021-05-01-preview", "2021-05-01", "2022-09-01-preview", "2023-03-01"]
)
