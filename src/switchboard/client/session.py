"""Kept for client/calling/agent.py, which imports ``Backoff`` from here; the chat client moved
to ``switchboard.client.chat`` and ``Backoff`` to ``switchboard.client.backoff``."""

from switchboard.client.backoff import Backoff

__all__ = ["Backoff"]
