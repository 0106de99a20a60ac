"""Events: Event Grid-shaped webhooks for every domain, delivered at least once.

A domain adds :class:`~switchboard.core.events.IntegrationEvent` s to the :class:`Outbox`
inside the transaction of its change and calls ``notify()`` after the commit; the
:class:`EventDispatcher` of some node fans each event out to the subscriptions that want it and
delivers it, signed, with Event Grid's retry schedule, dead-lettering what cannot be delivered.
See docs/events.md.
"""

from switchboard.events.component import EventsComponent
from switchboard.events.dispatcher import EventDispatcher
from switchboard.events.outbox import OUTBOX_TOPIC, Outbox, PostCommitPublisher, SqlEventOutbox

__all__ = [
    "OUTBOX_TOPIC",
    "EventDispatcher",
    "EventsComponent",
    "Outbox",
    "PostCommitPublisher",
    "SqlEventOutbox",
]
