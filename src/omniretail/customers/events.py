"""Past-tense customer events (``omniretail.customers.*``). They carry ids, never personal
data: a consumer that needs an address asks the customers service at delivery time."""

from __future__ import annotations

from typing import Any

from omniretail.kernel.events import DomainEvent


def customer_event(name: str, customer_id: int, **data: Any) -> DomainEvent:
    return DomainEvent(
        f"customers.{name}", f"customers/{customer_id}", {"customer_id": customer_id, **data}
    )
