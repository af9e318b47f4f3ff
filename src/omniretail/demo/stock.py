"""Opening stock for the demo network, sized from the real demand in the imported history.

Weekly demand per SKU is the average over the last twelve weeks of sales. The distribution
centre holds six weeks of cover of the share it serves (70%); the stores split the remaining
30% by their size, for the best-selling SKUs only, and get a replenishment policy: safety
stock of half a week, a reorder point of safety stock plus three days' demand (the DC's lead
time), and an order-up-to level of reorder point plus two weeks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from omniretail.db.uow import UnitOfWork
from omniretail.demo.network import DC, STORES
from omniretail.history import service as history
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import PolicyWrite
from omniretail.inventory.service import (
    BulkPolicy,
    BulkReceipt,
    BulkResult,
    receive_stock_bulk,
    set_policies_bulk,
)

HISTORY_WEEKS = 12
DC_SHARE = 0.7
DC_WEEKS_OF_COVER = 6
STORE_RANGE = 500  # best sellers stocked in every store
SAFETY_WEEKS = 0.5
LEAD_TIME_WEEKS = 3 / 7
REVIEW_WEEKS = 2
REFERENCE = "demo:opening-stock"


@dataclass(frozen=True)
class OpeningStock:
    receipts: list[BulkReceipt]
    policies: list[BulkPolicy]


@dataclass(frozen=True)
class StockSummary:
    skus_with_demand: int
    dc_skus: int
    store_skus: int
    received: BulkResult
    policies: int


def plan_opening_stock(weekly_demand: dict[str, float]) -> OpeningStock:
    ranked = sorted(weekly_demand.items(), key=lambda item: (-item[1], item[0]))
    receipts = [
        BulkReceipt(sku, DC, math.ceil(weekly * DC_SHARE * DC_WEEKS_OF_COVER))
        for sku, weekly in ranked
        if weekly > 0
    ]
    policies: list[BulkPolicy] = []
    total_weight = sum(store.weight for store in STORES)
    for sku, weekly in ranked[:STORE_RANGE]:
        for store in STORES:
            store_weekly = weekly * (1 - DC_SHARE) * store.weight / total_weight
            safety = math.ceil(store_weekly * SAFETY_WEEKS)
            reorder_point = safety + math.ceil(store_weekly * LEAD_TIME_WEEKS)
            order_up_to = reorder_point + math.ceil(store_weekly * REVIEW_WEEKS)
            receipts.append(BulkReceipt(sku, store.code, order_up_to))
            policies.append(
                BulkPolicy(
                    sku,
                    store.code,
                    PolicyWrite(
                        safety_stock=safety,
                        reorder_point=reorder_point,
                        order_up_to=order_up_to,
                    ),
                )
            )
    return OpeningStock(receipts=receipts, policies=policies)


def stock_exists(uow: UnitOfWork) -> bool:
    return bool(inventory.list_stock_levels(uow, location=DC, limit=1))


def receive_opening_stock(uow: UnitOfWork, *, actor: str) -> StockSummary:
    """Receives the planned stock through the ledger and sets the stores' policies."""
    demand = history.weekly_demand(uow, weeks=HISTORY_WEEKS)
    plan = plan_opening_stock(demand)
    received = receive_stock_bulk(
        uow, plan.receipts, actor=actor, reason="demo opening stock", reference=REFERENCE
    )
    policies = set_policies_bulk(uow, plan.policies, actor=actor)
    return StockSummary(
        skus_with_demand=len(demand),
        dc_skus=sum(1 for r in plan.receipts if r.location == DC),
        store_skus=len({p.sku for p in plan.policies}),
        received=received,
        policies=policies,
    )
