"""Orders a promotion or a coupon priced: which, the money it took off each, and what the
orders came to. Read from the pricing breakdown every sale line keeps (``pricing.service.
breakdown``), so checkout writes nothing more for it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.orders import repository as repo

ZERO = Decimal(0)


@dataclass(frozen=True)
class AdjustedOrder:
    """An order and the money a source took off it (positive; zero for points and notes)."""

    number: str
    currency: str
    total: Decimal
    status: str
    placed_at: datetime
    discount: Decimal = ZERO
    # Item units (cancelled lines left out) and how many of them came back; known only for
    # ``orders_by_numbers``.
    units: int = 0
    units_returned: int = 0


def orders_adjusted_by(
    uow: UnitOfWork, source: str, since: datetime | None = None
) -> list[AdjustedOrder]:
    """Sale orders (newest first) with a line adjusted by ``source`` (an adjustment's source:
    ``"promotion:<code>"`` or ``"coupon:<code>"``) placed since ``since``.

    A cart line split over two fulfilments becomes two order lines repeating the cart line's
    adjustments, so each (SKU, adjustments) of an order is counted once."""
    found: dict[str, AdjustedOrder] = {}
    seen: set[tuple[str, str | None, str]] = set()
    for row in repo.lines_adjusted_by(uow.session, source, since):
        _count(found, seen, row, source, _adjustments(row.pricing))
    return list(found.values())


def orders_adjusted_by_each(
    uow: UnitOfWork, prefix: str, since: datetime | None = None
) -> dict[str, list[AdjustedOrder]]:
    """``orders_adjusted_by`` for every source starting with ``prefix`` (``"promotion:"``),
    by source, in one read."""
    found: dict[str, dict[str, AdjustedOrder]] = {}
    seen: set[tuple[str, str | None, str]] = set()
    for row in repo.lines_adjusted_by(uow.session, prefix, since, prefix=True):
        adjustments = _adjustments(row.pricing)
        sources = {a.get("source") for a in adjustments}
        for source in sorted(s for s in sources if isinstance(s, str) and s.startswith(prefix)):
            _count(found.setdefault(source, {}), seen, row, source, adjustments)
    return {source: list(orders.values()) for source, orders in found.items()}


def _count(
    found: dict[str, AdjustedOrder],
    seen: set[tuple[str, str | None, str]],
    row: Any,
    source: str,
    adjustments: list[dict[str, Any]],
) -> None:
    """Adds what ``source`` took off the row's line to its order in ``found``."""
    mine = [a for a in adjustments if a.get("source") == source]
    if not mine:
        return  # the text matched elsewhere in the breakdown (a name, a note)
    key = (row.number, row.sku_code, source + json.dumps(adjustments, sort_keys=True))
    off = ZERO
    if key not in seen:
        seen.add(key)
        off = -sum((Decimal(str(a.get("amount", "0"))) for a in mine), ZERO)
    before = found.get(row.number)
    found[row.number] = AdjustedOrder(
        number=row.number,
        currency=row.currency,
        total=row.total,
        status=row.status,
        placed_at=row.placed_at,
        discount=(before.discount if before else ZERO) + off,
    )


def orders_by_numbers(uow: UnitOfWork, numbers: Sequence[str]) -> list[AdjustedOrder]:
    """The orders named (unknown numbers are left out), with no discount and with their
    units and units returned."""
    return [
        AdjustedOrder(
            number=r.number,
            currency=r.currency,
            total=r.total,
            status=r.status,
            placed_at=r.placed_at,
            units=int(r.units),
            units_returned=int(r.units_returned),
        )
        for r in repo.orders_by_numbers(uow.session, numbers)
    ]


def _adjustments(pricing: Any) -> list[dict[str, Any]]:
    if isinstance(pricing, str):  # a driver handing back the JSON text
        pricing = json.loads(pricing)
    found = pricing.get("adjustments") if isinstance(pricing, dict) else None
    return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []
