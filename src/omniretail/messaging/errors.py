"""Problems of the relay's delivery bookkeeping (dead-letter replay)."""

from __future__ import annotations

from omniretail.kernel.errors import Conflict, NotFound


class UnknownDelivery(NotFound):
    slug = "unknown-delivery"
    title = "No such delivery"


class DeliveryNotDead(Conflict):
    slug = "delivery-not-dead"
    title = "Only a dead-lettered delivery can be replayed"
