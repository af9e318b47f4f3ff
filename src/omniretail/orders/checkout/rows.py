"""What checkout builds: the plan (where the lines go) and the new fulfilment and line rows
(typed; ``values()`` is the row as inserted, ``read()`` as returned)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from omniretail.carts.service import CartLineRow
from omniretail.catalog.schemas import LocationRead
from omniretail.orders.events import ConfirmedFulfilment
from omniretail.orders.models import FulfilmentStatus, LineStatus
from omniretail.orders.schemas import (
    FulfilmentRead,
    OrderLineRead,
)
from omniretail.routing.service import (
    FulfilmentMethod,
)


@dataclass
class Placed:
    """One fulfilment being created: where, how, and which cart lines (or parts) it takes."""

    id: str
    location: str
    method: FulfilmentMethod
    pickup_location: str | None
    takes: list[tuple[CartLineRow, int]]
    capacity_day: date | None = None


@dataclass(frozen=True)
class Plan:
    """Where the cart's lines go: the routing version used, the active locations, the
    customer's coordinates (if known) and the fulfilments to create."""

    version: int
    known: dict[str, LocationRead]
    destination: tuple[float, float] | None
    placed: list[Placed]


@dataclass(frozen=True, kw_only=True)
class FulfilmentRow:
    """A new ``fulfilments`` row: created, waiting for its location to accept."""

    id: str
    order_id: int
    method: str
    status: str = FulfilmentStatus.CREATED.value
    location_code: str
    pickup_location_code: str | None
    promised_date: date
    capacity_day: date | None
    reminders_sent: int = 0
    created_at: datetime
    updated_at: datetime

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def confirmed(self) -> ConfirmedFulfilment:
        return ConfirmedFulfilment(
            id=self.id,
            method=self.method,
            location=self.location_code,
            pickup_location=self.pickup_location_code,
            promised_date=self.promised_date.isoformat(),
        )

    def read(self) -> FulfilmentRead:
        return FulfilmentRead(
            id=self.id,
            method=self.method,
            status=self.status,
            location=self.location_code,
            pickup_location=self.pickup_location_code,
            promised_date=self.promised_date,
            ready_at=None,
            collect_by=None,
            reminders_sent=0,
            carrier=None,
            tracking_number=None,
            transfer_id=None,
            reason=None,
            next_steps=["accepted", "rejected", "cancelled"],
        )


@dataclass(frozen=True, kw_only=True)
class LineRow:
    """A new ``order_lines`` row: open, holding its allocation."""

    order_id: int
    line_no: int
    sku_code: str
    description: str | None
    quantity: int
    unit_price: Decimal | None
    fulfilment_id: str
    hold_id: str
    status: str = LineStatus.OPEN.value
    quantity_returned: int = 0
    net_amount: Decimal | None = None
    tax_amount: Decimal | None = None
    pricing: dict[str, Any] | None = None

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def read(self) -> OrderLineRead:
        return OrderLineRead(
            line_no=self.line_no,
            sku=self.sku_code,
            name=self.description,
            quantity=self.quantity,
            unit_price=self.unit_price,
            status=self.status,
            fulfilment_id=self.fulfilment_id,
            quantity_returned=0,
            returnable=0,
            net=self.net_amount,
            tax=self.tax_amount,
            pricing=self.pricing,
        )
