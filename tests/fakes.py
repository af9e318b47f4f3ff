"""In-memory fakes for the ports the pure engines need, so they are tested without a database.

- ``FakeNetwork``: what the routing engine reads (``routing.engine.Inputs``): locations, units
  available to promise per (SKU, location), and ship-from-store capacity left today; built by
  hand instead of loaded from the catalog and inventory tables.
- ``opening_hours``: a store's opening hours as the catalog stores them
  (``{"mon": "09:00-17:00"}``).
- ``purchase``: an order as loyalty's earn rules see it (``loyalty.schemas.OrderEarn``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from omniretail.loyalty.schemas import OrderEarn, OrderLineEarn
from omniretail.routing.engine import Inputs, Site

# Coordinates of the fake network's places (degrees).
LONDON = (51.5074, -0.1278)
READING = (51.4543, -0.9781)
MANCHESTER = (53.4808, -2.2426)


@dataclass
class FakeNetwork:
    """Locations and stock for the routing engine, in memory."""

    sites: dict[str, Site] = field(default_factory=dict)
    available: dict[tuple[str, str], int] = field(default_factory=dict)
    capacity_left: dict[str, int] = field(default_factory=dict)

    def site(
        self,
        code: str,
        kind: str = "store",
        *,
        at: tuple[float, float] = LONDON,
        ships_to_home: bool = True,
        pickup: bool = False,
        ship_to_store_target: bool = False,
        daily_capacity: int = 0,
        channels: tuple[str, ...] = ("WEB",),
        curbside: bool = False,
    ) -> FakeNetwork:
        self.sites[code] = Site(
            code=code,
            name=code.title(),
            kind=kind,
            latitude=at[0],
            longitude=at[1],
            ships_to_home=ships_to_home,
            pickup=pickup,
            ship_to_store_target=ship_to_store_target,
            daily_capacity=daily_capacity,
            channels=frozenset(channels),
            curbside=curbside,
        )
        return self

    def stock(self, sku: str, location: str, units: int) -> FakeNetwork:
        self.available[(sku, location)] = units
        return self

    def capacity(self, location: str, left: int) -> FakeNetwork:
        self.capacity_left[location] = left
        return self

    def inputs(self) -> Inputs:
        return Inputs(dict(self.sites), dict(self.available), dict(self.capacity_left))


def opening_hours(weekdays: str = "09:00-17:00", **days: str) -> dict[str, str]:
    """Monday to Saturday ``weekdays``, Sunday closed, unless given per day (``sun="10-16"``)."""
    hours = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat"), weekdays)
    hours["sun"] = "closed"
    hours.update(days)
    return hours


def purchase(
    placed_at: datetime,
    *lines: tuple[int, str, str | None],
    channel: str = "WEB",
    customer_id: int = 1,
) -> OrderEarn:
    """An order of ``(line_id, amount, category)`` lines, one unit each."""
    return OrderEarn(
        customer_id=customer_id,
        order_reference="WEB-1001",
        channel=channel,
        placed_at=placed_at,
        lines=[
            OrderLineEarn(line_id=line_id, amount=Decimal(amount), quantity=1, category=category)
            for line_id, amount, category in lines
        ],
    )
