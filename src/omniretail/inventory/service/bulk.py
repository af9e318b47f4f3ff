"""Bulk use cases: receiving many (SKU, location, quantity) rows, or setting many policies, in
a few statements (opening stock, data loads). Services never commit.

Receipts keep the ledger invariant exactly as ``service.receive_stock`` does: one ledger row
per (SKU, location) and the counters raised by the same amount in the same transaction, with
the repository's upsert semantics (create the stock row on first receipt, else add to it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownLocation, UnknownSku
from omniretail.db.sql import insert_for
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import repository as repo
from omniretail.inventory.events import PoliciesSetInBulk, ReceivedInBulk
from omniretail.inventory.models import MovementKind, StockLevel
from omniretail.inventory.repository import Deltas
from omniretail.inventory.schemas import PolicyWrite
from omniretail.inventory.service.ledger import movement_row
from omniretail.kernel.errors import InvalidRequest

levels = StockLevel.metadata.tables[StockLevel.__tablename__]
BATCH_ROWS = 1000  # keeps multi-row statements under SQLite's bound-parameter limit
T = TypeVar("T")


@dataclass(frozen=True)
class BulkReceipt:
    sku: str
    location: str
    quantity: int


@dataclass(frozen=True)
class BulkPolicy:
    sku: str
    location: str
    policy: PolicyWrite


@dataclass(frozen=True)
class BulkResult:
    stock_rows: int
    units: int


def receive_stock_bulk(
    uow: UnitOfWork,
    receipts: Iterable[BulkReceipt],
    *,
    actor: str,
    reason: str | None = None,
    reference: str | None = None,
) -> BulkResult:
    """Receives every row; rows for the same SKU and location are added up. Unknown SKUs or
    locations and quantities below 1 are refused before anything is written."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for r in receipts:
        if r.quantity <= 0:
            raise InvalidRequest(
                f"quantity must be positive: {r.quantity} of {r.sku} at {r.location}",
                field="quantity",
            )
        totals[(r.sku, r.location)] += r.quantity
    if not totals:
        return BulkResult(0, 0)
    _require_known(uow, {s for s, _ in totals}, {loc for _, loc in totals})
    rows = sorted(totals.items())
    insert = insert_for(uow.session)(levels)
    upsert = insert.on_conflict_do_update(
        index_elements=[levels.c.sku_code, levels.c.location_code],
        set_={
            "on_hand": levels.c.on_hand + insert.excluded.on_hand,
            "updated_at": insert.excluded.updated_at,
        },
    )
    for batch in _batches(rows):
        uow.session.execute(
            upsert.values(
                [
                    {
                        "sku_code": sku,
                        "location_code": location,
                        "on_hand": quantity,
                        "reserved": 0,
                        "allocated": 0,
                        "in_transit": 0,
                        "safety_stock": 0,
                        "updated_at": uow.now,
                    }
                    for (sku, location), quantity in batch
                ]
            )
        )
        repo.insert_movements(
            uow.session,
            [
                movement_row(
                    uow,
                    sku,
                    location,
                    MovementKind.RECEIPT,
                    Deltas(on_hand=quantity),
                    actor,
                    reason,
                    reference,
                )
                for (sku, location), quantity in batch
            ],
        )
    result = BulkResult(stock_rows=len(rows), units=sum(q for _, q in rows))
    uow.record(
        ReceivedInBulk(
            stock_rows=result.stock_rows,
            units=result.units,
            locations=sorted({loc for _, loc in totals}),
            reason=reason,
            reference=reference,
            actor=actor,
        )
    )
    return result


def set_policies_bulk(uow: UnitOfWork, policies: Sequence[BulkPolicy], *, actor: str) -> int:
    """Safety stock, reorder point and order-up-to level for many stock rows at once (the
    stock row is created empty where there is none). Policies are not ledgered."""
    if not policies:
        return 0
    _require_known(uow, {p.sku for p in policies}, {p.location for p in policies})
    insert = insert_for(uow.session)(levels)
    upsert = insert.on_conflict_do_update(
        index_elements=[levels.c.sku_code, levels.c.location_code],
        set_={
            "safety_stock": insert.excluded.safety_stock,
            "reorder_point": insert.excluded.reorder_point,
            "order_up_to": insert.excluded.order_up_to,
            "updated_at": insert.excluded.updated_at,
        },
    )
    by_key = {(p.sku, p.location): p.policy for p in policies}
    for batch in _batches(sorted(by_key.items())):
        uow.session.execute(
            upsert.values(
                [
                    {
                        "sku_code": sku,
                        "location_code": location,
                        "on_hand": 0,
                        "reserved": 0,
                        "allocated": 0,
                        "in_transit": 0,
                        "safety_stock": policy.safety_stock,
                        "reorder_point": policy.reorder_point,
                        "order_up_to": policy.order_up_to,
                        "updated_at": uow.now,
                    }
                    for (sku, location), policy in batch
                ]
            )
        )
    uow.record(PoliciesSetInBulk(stock_rows=len(by_key), actor=actor))
    return len(by_key)


def _require_known(uow: UnitOfWork, skus: set[str], locations: set[str]) -> None:
    known: set[str] = set()
    for chunk in _batches(sorted(skus)):
        known |= catalog.existing_sku_codes(uow, chunk)
    missing = sorted(skus - known)
    if missing:
        raise UnknownSku(f"no SKU with code(s) {', '.join(missing[:10])}", field="sku")
    unknown = sorted(loc for loc in locations if not catalog.location_exists(uow, loc))
    if unknown:
        raise UnknownLocation(f"no location with code(s) {', '.join(unknown)}", field="location")


def _batches(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), BATCH_ROWS):
        yield items[start : start + BATCH_ROWS]
