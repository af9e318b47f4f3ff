"""Past-tense inventory events (``omniretail.inventory.*`` in the outbox)."""

from __future__ import annotations

from typing import Any

from omniretail.kernel.events import DomainEvent


def stock_event(name: str, sku: str, location: str, **data: Any) -> DomainEvent:
    return DomainEvent(
        f"inventory.{name}",
        f"stock/{sku}@{location}",
        {"sku": sku, "location": location, **data},
    )


def transfer_event(name: str, transfer_id: str, **data: Any) -> DomainEvent:
    return DomainEvent(
        f"inventory.transfer_{name}",
        f"transfers/{transfer_id}",
        {"transfer_id": transfer_id, **data},
    )
