"""Integration events: what happened, in the shape Event Grid delivers it to back-ends.

A domain builds these inside the transaction that made the change and hands them to an
event outbox in that same transaction (see ``switchboard.events``), so an event exists if and
only if its change was committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class IntegrationEvent:
    type: str  # e.g. "Microsoft.Communication.ChatMessageReceived"
    subject: str  # e.g. "thread/{threadId}/sender/{rawId}/recipient/{rawId}"
    data: Mapping[str, Any]  # already in the wire shape of the Event Grid schema (camelCase)
    time: float  # epoch seconds of the change
    id: str = field(default_factory=lambda: str(uuid.uuid4()))  # stable across retries
    data_version: str = "1.0"
