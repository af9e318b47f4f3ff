"""Bulk receipts and policies (inventory.bulk), and the demo's opening stock plan."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from omniretail.catalog.errors import UnknownSku
from omniretail.db.outbox import OutboxMessage
from omniretail.demo.network import DC, STORES
from omniretail.demo.stock import STORE_RANGE, plan_opening_stock
from omniretail.inventory import availability
from omniretail.inventory import service as inventory
from omniretail.inventory.models import StockMovement
from omniretail.inventory.schemas import PolicyWrite
from omniretail.inventory.service import (
    BulkPolicy,
    BulkReceipt,
    receive_stock_bulk,
    set_policies_bulk,
)
from omniretail.kernel.errors import InvalidRequest
from tests.factories import make_network, receive


def on_hand(container, sku, location):
    with container.read_uow() as uow:
        return inventory.get_stock_level(uow, sku, location).on_hand


def movement_count(container):
    with container.read_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(StockMovement))


def outbox_count(container):
    with container.read_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(OutboxMessage))


def test_bulk_receipts_add_to_stock_through_the_ledger(container):
    make_network(container)
    receive(container, "10001", "LON1", 3)

    with container.uow() as uow:
        result = receive_stock_bulk(
            uow,
            [
                BulkReceipt("10001", "LON1", 2),
                BulkReceipt("10001", "LON1", 5),
                BulkReceipt("10002", "DC1", 40),
            ],
            actor="test",
            reference="opening",
        )

    assert (result.stock_rows, result.units) == (2, 47)
    assert on_hand(container, "10001", "LON1") == 10
    assert on_hand(container, "10002", "DC1") == 40
    assert movement_count(container) == 3  # the single receipt, then one per stock row
    with container.read_uow() as uow:
        assert availability.verify(uow).drift == []
        event = uow.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.type == "omniretail.inventory.received_in_bulk"
            )
        ).one()
    assert event.data["units"] == 47 and event.data["locations"] == ["DC1", "LON1"]


def test_bulk_receipts_of_an_unknown_sku_write_nothing(container):
    make_network(container)
    events = outbox_count(container)

    with pytest.raises(UnknownSku, match="99999"), container.uow() as uow:
        receive_stock_bulk(
            uow,
            [BulkReceipt("10001", "LON1", 2), BulkReceipt("99999", "LON1", 1)],
            actor="test",
        )

    assert on_hand(container, "10001", "LON1") == 0
    assert movement_count(container) == 0
    assert outbox_count(container) == events


def test_bulk_receipts_refuse_a_quantity_below_one(container):
    make_network(container)

    with pytest.raises(InvalidRequest, match="quantity must be positive"), container.uow() as uow:
        receive_stock_bulk(uow, [BulkReceipt("10001", "LON1", 0)], actor="test")

    assert movement_count(container) == 0


def test_bulk_policies_set_safety_stock_and_reorder_points(container):
    make_network(container)
    receive(container, "10001", "LON1", 8)

    with container.uow() as uow:
        count = set_policies_bulk(
            uow,
            [
                BulkPolicy(
                    "10001", "LON1", PolicyWrite(safety_stock=2, reorder_point=4, order_up_to=9)
                ),
                BulkPolicy("10002", "LON2", PolicyWrite(safety_stock=1, reorder_point=3)),
            ],
            actor="test",
        )

    assert count == 2
    with container.read_uow() as uow:
        first = inventory.get_stock_level(uow, "10001", "LON1")
        second = inventory.get_stock_level(uow, "10002", "LON2")
        assert availability.verify(uow).drift == []
    assert (first.on_hand, first.safety_stock, first.reorder_point, first.order_up_to) == (
        8,
        2,
        4,
        9,
    )
    assert first.available == 6
    assert (second.on_hand, second.safety_stock, second.reorder_point) == (0, 1, 3)


def test_the_opening_stock_plan_follows_demand():
    demand = {f"{10000 + i}": float(STORE_RANGE + 10 - i) for i in range(STORE_RANGE + 10)}

    plan = plan_opening_stock(demand)

    dc = {r.sku: r.quantity for r in plan.receipts if r.location == DC}
    assert len(dc) == STORE_RANGE + 10
    assert dc["10000"] == 2142  # ceil(510 * 0.7 * 6)
    stocked = {r.sku for r in plan.receipts if r.location != DC}
    assert stocked == {f"{10000 + i}" for i in range(STORE_RANGE)}  # the best sellers only
    assert len(plan.policies) == STORE_RANGE * len(STORES)
    for policy in plan.policies:
        p = policy.policy
        assert 0 < p.safety_stock <= (p.reorder_point or 0) <= (p.order_up_to or 0)
    store_units = {(r.sku, r.location): r.quantity for r in plan.receipts if r.location != DC}
    assert all(store_units[(p.sku, p.location)] == p.policy.order_up_to for p in plan.policies)
