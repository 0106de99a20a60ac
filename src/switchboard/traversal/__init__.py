"""Network traversal: TURN REST credentials for ICE, and the coturn that checks them."""

from switchboard.traversal.relay import TurnRelay, check_turn_settings
from switchboard.traversal.service import RelayConfiguration, RelayService, RouteType

__all__ = ["RelayConfiguration", "RelayService", "RouteType", "TurnRelay", "check_turn_settings"]
