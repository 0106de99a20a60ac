from __future__ import annotations

import pytest

from switchboard.core.errors import InvalidApiVersionError
from switchboard.http.apiversion import IDENTITY_VERSIONS, normalize_api_version


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-10-01", "2023-10-01"),
        ("ApiVersion.V2025_03_13", "2025-03-13"),
        ("V2022_03_01_PREVIEW", "2022-03-01-preview"),
        (" 2023-10-01 ", "2023-10-01"),
    ],
)
def test_enum_reprs_are_mapped_to_dates(raw: str, expected: str) -> None:
    assert normalize_api_version(raw) == expected


def test_the_version_the_sdk_sends_is_accepted() -> None:
    assert IDENTITY_VERSIONS.check("2023-10-01") == "2023-10-01"


@pytest.mark.parametrize("raw", [None, "", "2019-01-01", "latest"])
def test_missing_or_unknown_versions_are_refused(raw: str | None) -> None:
    with pytest.raises(InvalidApiVersionError):
        IDENTITY_VERSIONS.check(raw)
