"""ACS's SIP configuration JSON (api-version 2023-03-01 and the earlier shapes alike):

    {"trunks": {"<fqdn>": {"sipSignalingPort": 5061}},
     "routes": [{"name", "description", "numberPattern", "trunks": ["<fqdn>", …]}]}

A PATCH is a JSON merge patch of that document (``"<fqdn>": null`` deletes the trunk).
``enabled`` (a later api-version's trunk field) is read when sent; only ACS's fields are
shown, never our own settings.
"""

from __future__ import annotations

from typing import Any

from switchboard.core.errors import BadRequestError
from switchboard.siprouting.models import (
    MAX_ROUTES,
    MAX_TRUNKS,
    SipConfiguration,
    SipConfigurationError,
)
from switchboard.siprouting.service import SipPatch, TrunkPatch
from switchboard.siprouting.validation import check_port, route


def configuration_json(config: SipConfiguration) -> dict[str, Any]:
    return {
        "trunks": {t.fqdn: {"sipSignalingPort": t.sip_signaling_port} for t in config.trunks},
        "routes": [
            {
                **({"description": r.description} if r.description is not None else {}),
                "name": r.name,
                "numberPattern": r.number_pattern,
                "trunks": list(r.trunks),
            }
            for r in config.routes
        ],
    }


def sip_patch(body: Any) -> SipPatch:
    if not isinstance(body, dict):
        raise BadRequestError("The request body must be a JSON object.")
    trunks = body.get("trunks")
    routes = body.get("routes")
    patch_trunks: dict[str, TrunkPatch | None] | None = None
    if trunks is not None:
        if not isinstance(trunks, dict):
            raise BadRequestError("trunks must be an object keyed by FQDN.", target="trunks")
        if len(trunks) > MAX_TRUNKS:
            raise SipConfigurationError("TooManyTrunks", f"Over {MAX_TRUNKS} trunks.")
        patch_trunks = {fqdn: _trunk_patch(fqdn, value) for fqdn, value in trunks.items()}
    patch_routes = None
    if routes is not None:
        if not isinstance(routes, list):
            raise BadRequestError("routes must be a list.", target="routes")
        if len(routes) > MAX_ROUTES:
            raise SipConfigurationError("TooManyRoutes", f"Over {MAX_ROUTES} routes.")
        patch_routes = tuple(_route(i, r) for i, r in enumerate(routes))
    return SipPatch(patch_trunks, patch_routes)


def _trunk_patch(fqdn: str, value: Any) -> TrunkPatch | None:
    if value is None:
        return None
    where = f"trunks[{fqdn!r}]"
    if not isinstance(value, dict):
        raise BadRequestError(f"{where} must be an object or null.", target="trunks")
    port = value.get("sipSignalingPort")
    enabled = value.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise BadRequestError(f"{where}.enabled must be true or false.", target="trunks")
    return TrunkPatch(None if port is None else check_port(port, where), enabled)


def _route(index: int, value: Any) -> Any:
    where = f"routes[{index}]"
    if not isinstance(value, dict):
        raise BadRequestError(f"{where} must be an object.", target="routes")
    return route(
        value.get("name"),
        value.get("numberPattern"),
        value.get("trunks"),
        value.get("description"),
        where,
    )
