"""Publish/subscribe between the parts of one node and between nodes."""

from switchboard.bus.base import Bus, Subscription

__all__ = ["Bus", "Subscription"]
