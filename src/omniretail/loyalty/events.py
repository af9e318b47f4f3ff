"""Past-tense loyalty events (``omniretail.loyalty.*``); ids and numbers only."""

from __future__ import annotations

from typing import Any

from omniretail.kernel.events import DomainEvent


def loyalty_event(name: str, customer_id: int, **data: Any) -> DomainEvent:
    return DomainEvent(
        f"loyalty.{name}", f"loyalty/{customer_id}", {"customer_id": customer_id, **data}
    )
