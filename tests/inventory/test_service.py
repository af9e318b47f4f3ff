"""Inventory use cases on a real database (SQLite and PostgreSQL), one behaviour per test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from omniretail.bootstrap import Container
from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownChannel, UnknownLocation, UnknownSku
from omniretail.catalog.models import ChannelKind
from omniretail.catalog.schemas import ChannelWrite
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import availability, service
from omniretail.inventory import service as transfers
from omniretail.inventory.errors import (
    ChannelDoesNotSellHere,
    CountBelowAllocated,
    HoldNotActive,
    IllegalTransferTransition,
    OutOfStock,
    ReservationExpired,
    UnknownHold,
    UnknownTransfer,
)
from omniretail.inventory.schemas import (
    AdjustmentCreate,
    CountCreate,
    PolicyWrite,
    SaleCreate,
    StockChange,
    TransferCreate,
    TransferLineIn,
)
from tests.conftest import FixedClock
from tests.factories import make_network, receive
from tests.inventory.state import (
    assert_outbox_json_round_trips,
    assert_verified,
    counters,
    event_types_after,
    events_after,
    ledger,
    outbox_position,
    snapshot,
)

T = TypeVar("T")
SKU, OTHER = "10001", "10002"


def run(container: Container, fn: Callable[[UnitOfWork], T]) -> T:
    with container.uow() as uow:
        return fn(uow)


def refused(container: Container, error: type[Exception], fn: Callable[[UnitOfWork], Any]) -> Any:
    """Runs a use case that must be refused and asserts that nothing was written."""
    before = snapshot(container)
    with pytest.raises(error) as caught:
        run(container, fn)
    assert snapshot(container) == before
    return caught.value


def reserve(container: Container, quantity: int, location: str = "LON1", channel: str = "WEB"):
    data = SaleCreate(sku=SKU, location=location, channel=channel, quantity=quantity)
    return run(container, lambda uow: service.reserve_stock(uow, data, actor="test"))


@pytest.fixture
def net(container: Container) -> Container:
    make_network(container)
    return container


# --- movements -------------------------------------------------------------------------------


def test_receipt_creates_the_stock_row_with_a_ledger_row_and_an_event(net):
    level = run(
        net,
        lambda uow: service.receive_stock(
            uow,
            StockChange(sku=SKU, location="DC1", quantity=10, reference="PO-1"),
            actor="clerk",
        ),
    )
    assert (level.on_hand, level.available) == (10, 10)
    assert ledger(net) == [
        {
            "sku": SKU,
            "location": "DC1",
            "kind": "receipt",
            "on_hand": 10,
            "reserved": 0,
            "allocated": 0,
            "in_transit": 0,
            "reason": None,
            "reference": "PO-1",
        }
    ]
    [(kind, data)] = [e for e in events_after(net) if e[0].startswith("omniretail.inventory")]
    assert kind == "omniretail.inventory.received"
    assert data["on_hand"] == 10 and data["actor"] == "clerk" and data["reference"] == "PO-1"
    assert_verified(net)


def test_receipt_of_unknown_sku_or_location_writes_nothing(net):
    refused(
        net,
        UnknownSku,
        lambda uow: service.receive_stock(
            uow, StockChange(sku="NOPE", location="DC1", quantity=1), actor="t"
        ),
    )
    error = refused(
        net,
        UnknownLocation,
        lambda uow: service.receive_stock(
            uow, StockChange(sku=SKU, location="NOPE", quantity=1), actor="t"
        ),
    )
    assert error.field == "location"


@pytest.mark.parametrize("quantity", [0, -1, 1_000_000_001])
def test_quantities_must_be_positive_and_bounded(quantity):
    with pytest.raises(ValidationError):
        StockChange(sku=SKU, location="DC1", quantity=quantity)


def test_adjustments_carry_their_reason_both_ways(net):
    receive(net, SKU, "LON1", 10)
    start = outbox_position(net)
    run(
        net,
        lambda uow: service.adjust_stock(
            uow,
            AdjustmentCreate(sku=SKU, location="LON1", quantity_delta=-3, reason="damaged"),
            actor="t",
        ),
    )
    level = run(
        net,
        lambda uow: service.adjust_stock(
            uow,
            AdjustmentCreate(sku=SKU, location="LON1", quantity_delta=2, reason="found in back"),
            actor="t",
        ),
    )
    assert level.on_hand == 9
    rows = [r for r in ledger(net) if r["kind"] == "adjustment"]
    assert [(r["on_hand"], r["reason"]) for r in rows] == [(-3, "damaged"), (2, "found in back")]
    assert event_types_after(net, start) == ["omniretail.inventory.adjusted"] * 2
    assert_verified(net)


def test_adjustment_needs_a_reason_and_a_non_zero_delta():
    with pytest.raises(ValidationError, match="reason"):
        AdjustmentCreate(sku=SKU, location="LON1", quantity_delta=1, reason="")
    with pytest.raises(ValidationError, match="must not be zero"):
        AdjustmentCreate(sku=SKU, location="LON1", quantity_delta=0, reason="x")


def test_negative_adjustment_beyond_free_stock_is_refused(net):
    receive(net, SKU, "LON1", 3)
    error = refused(
        net,
        OutOfStock,
        lambda uow: service.adjust_stock(
            uow,
            AdjustmentCreate(sku=SKU, location="LON1", quantity_delta=-4, reason="lost"),
            actor="t",
        ),
    )
    assert (error.field, error.extra) == ("quantity", {"requested": 4, "available": 3})


def test_write_off_takes_only_units_nobody_holds(net):
    receive(net, SKU, "LON1", 5)
    reserve(net, 3)
    refused(
        net,
        OutOfStock,
        lambda uow: service.write_off(
            uow, StockChange(sku=SKU, location="LON1", quantity=3, reason="broken"), actor="t"
        ),
    )
    start = outbox_position(net)
    level = run(
        net,
        lambda uow: service.write_off(
            uow, StockChange(sku=SKU, location="LON1", quantity=2, reason="broken"), actor="t"
        ),
    )
    assert (level.on_hand, level.reserved, level.available) == (3, 3, 0)
    assert ledger(net)[-1]["kind"] == "write_off"
    assert event_types_after(net, start) == ["omniretail.inventory.written_off"]
    assert_verified(net)


def test_return_restock_puts_units_back_on_sale(net):
    receive(net, SKU, "LON2", 1)
    start = outbox_position(net)
    level = run(
        net,
        lambda uow: service.restock_return(
            uow, StockChange(sku=SKU, location="LON2", quantity=2, reference="RMA-9"), actor="t"
        ),
    )
    assert level.on_hand == 3
    assert ledger(net)[-1]["kind"] == "return_restock"
    assert event_types_after(net, start) == ["omniretail.inventory.restocked"]


def test_direct_sale_uses_free_units_including_safety_stock(net):
    receive(net, SKU, "LON1", 4)
    run(
        net,
        lambda uow: service.set_policy(uow, SKU, "LON1", PolicyWrite(safety_stock=2), actor="t"),
    )
    start = outbox_position(net)
    level = run(
        net,
        lambda uow: service.sell_stock(
            uow, SaleCreate(sku=SKU, location="LON1", channel="POS", quantity=4), actor="till"
        ),
    )
    assert (level.on_hand, level.available) == (0, 0)
    assert ledger(net)[-1]["kind"] == "sale"
    assert event_types_after(net, start) == ["omniretail.inventory.sold"]
    refused(
        net,
        OutOfStock,
        lambda uow: service.sell_stock(
            uow, SaleCreate(sku=SKU, location="LON1", channel="POS", quantity=1), actor="till"
        ),
    )


def test_direct_sale_never_takes_held_units(net):
    receive(net, SKU, "LON1", 2)
    reserve(net, 2)
    error = refused(
        net,
        OutOfStock,
        lambda uow: service.sell_stock(
            uow, SaleCreate(sku=SKU, location="LON1", channel="POS", quantity=1), actor="till"
        ),
    )
    assert error.extra == {"requested": 1, "available": 0}


def test_sale_from_a_location_the_channel_does_not_sell_from_is_refused(net):
    receive(net, SKU, "DC1", 5)
    error = refused(
        net,
        ChannelDoesNotSellHere,
        lambda uow: service.sell_stock(
            uow, SaleCreate(sku=SKU, location="DC1", channel="POS", quantity=1), actor="t"
        ),
    )
    assert error.field == "location"
    refused(
        net,
        UnknownChannel,
        lambda uow: service.sell_stock(
            uow, SaleCreate(sku=SKU, location="DC1", channel="NOPE", quantity=1), actor="t"
        ),
    )
    refused(
        net,
        UnknownSku,
        lambda uow: service.sell_stock(
            uow, SaleCreate(sku="NOPE", location="LON1", channel="POS", quantity=1), actor="t"
        ),
    )


# --- reservations ------------------------------------------------------------------------------


def test_reservation_holds_units_for_the_channel_ttl(net, clock: FixedClock):
    receive(net, SKU, "LON1", 5)
    start = outbox_position(net)
    hold = reserve(net, 2)
    assert (hold.kind, hold.status, hold.quantity) == ("cart", "active", 2)
    assert hold.expires_at == clock.now() + timedelta(minutes=15)
    assert counters(net, SKU, "LON1") == {
        "on_hand": 5,
        "reserved": 2,
        "allocated": 0,
        "in_transit": 0,
    }
    assert ledger(net)[-1] | {"reference": None} == {
        "sku": SKU,
        "location": "LON1",
        "kind": "reserve",
        "on_hand": 0,
        "reserved": 2,
        "allocated": 0,
        "in_transit": 0,
        "reason": None,
        "reference": None,
    }
    assert ledger(net)[-1]["reference"] == hold.id
    [(kind, data)] = events_after(net, start)
    assert kind == "omniretail.inventory.reserved"
    assert data["hold_id"] == hold.id and data["available"] == 3
    assert_verified(net)


def test_reservation_ttl_is_per_channel(net, clock: FixedClock):
    run(
        net,
        lambda uow: catalog.save_channel(
            uow,
            ChannelWrite(
                code="APP",
                name="App",
                kind=ChannelKind.APP,
                reservation_ttl_seconds=120,
                location_codes=["LON1"],
            ),
        ),
    )
    receive(net, SKU, "LON1", 5)
    assert reserve(net, 1, channel="APP").expires_at == clock.now() + timedelta(minutes=2)


def test_reservation_never_dips_into_safety_stock(net):
    receive(net, SKU, "LON1", 5)
    run(
        net,
        lambda uow: service.set_policy(uow, SKU, "LON1", PolicyWrite(safety_stock=2), actor="t"),
    )
    data = SaleCreate(sku=SKU, location="LON1", channel="WEB", quantity=4)
    error = refused(net, OutOfStock, lambda uow: service.reserve_stock(uow, data, actor="t"))
    assert error.extra == {"requested": 4, "available": 3}
    assert reserve(net, 3).quantity == 3


def test_refresh_gives_the_hold_another_full_ttl(net, clock: FixedClock):
    receive(net, SKU, "LON1", 5)
    hold = reserve(net, 1)
    clock.advance(minutes=10)
    start = outbox_position(net)
    refreshed = run(net, lambda uow: service.refresh_reservation(uow, hold.id, actor="t"))
    assert refreshed.expires_at == clock.now() + timedelta(minutes=15)
    assert event_types_after(net, start) == ["omniretail.inventory.reservation_refreshed"]
    clock.advance(minutes=10)  # 20 minutes after reserving, 10 after the refresh
    assert run(net, lambda uow: service.sell_reservation(uow, hold.id, actor="t")).status == "sold"


def test_an_expired_hold_cannot_be_refreshed_or_sold(net, clock: FixedClock):
    receive(net, SKU, "LON1", 5)
    hold = reserve(net, 1)
    clock.advance(minutes=16)
    refused(
        net, ReservationExpired, lambda uow: service.refresh_reservation(uow, hold.id, actor="t")
    )
    error = refused(
        net, ReservationExpired, lambda uow: service.sell_reservation(uow, hold.id, actor="t")
    )
    assert error.field == "id"


def test_release_returns_the_units_once(net):
    receive(net, SKU, "LON1", 5)
    hold = reserve(net, 2)
    start = outbox_position(net)
    released = run(net, lambda uow: service.release_reservation(uow, hold.id, actor="t"))
    assert released.status == "released"
    assert counters(net, SKU, "LON1")["reserved"] == 0
    assert ledger(net)[-1]["kind"] == "release"
    assert event_types_after(net, start) == ["omniretail.inventory.reservation_released"]
    error = refused(
        net, HoldNotActive, lambda uow: service.release_reservation(uow, hold.id, actor="t")
    )
    assert error.extra == {"hold_status": "released"}
    assert_verified(net)


def test_unknown_hold_is_refused(net):
    refused(net, UnknownHold, lambda uow: service.sell_reservation(uow, "nope", actor="t"))
    refused(net, UnknownHold, lambda uow: service.fulfil_allocation(uow, "nope", actor="t"))


def test_selling_a_reservation_takes_the_units_out_of_stock(net):
    receive(net, SKU, "LON1", 5)
    hold = reserve(net, 2)
    start = outbox_position(net)
    sold = run(net, lambda uow: service.sell_reservation(uow, hold.id, actor="t"))
    assert sold.status == "sold"
    assert counters(net, SKU, "LON1") == {
        "on_hand": 3,
        "reserved": 0,
        "allocated": 0,
        "in_transit": 0,
    }
    assert (ledger(net)[-1]["kind"], ledger(net)[-1]["on_hand"]) == ("sale", -2)
    assert event_types_after(net, start) == ["omniretail.inventory.sold"]
    refused(net, HoldNotActive, lambda uow: service.sell_reservation(uow, hold.id, actor="t"))
    assert_verified(net)


def test_checkout_turns_the_reservation_into_an_allocation_then_fulfils_it(net, clock):
    receive(net, SKU, "LON1", 5)
    hold = reserve(net, 2)
    start = outbox_position(net)
    allocated = run(net, lambda uow: service.allocate_reservation(uow, hold.id, "SO-1", actor="t"))
    assert (allocated.kind, allocated.expires_at, allocated.reference) == ("order", None, "SO-1")
    assert counters(net, SKU, "LON1")["reserved"] == 0
    assert counters(net, SKU, "LON1")["allocated"] == 2
    clock.advance(hours=2)  # allocations do not expire
    assert run(net, lambda uow: service.release_expired_holds(uow, actor="t")) == 0
    fulfilled = run(net, lambda uow: service.fulfil_allocation(uow, hold.id, actor="t"))
    assert fulfilled.status == "fulfilled"
    assert counters(net, SKU, "LON1") == {
        "on_hand": 3,
        "reserved": 0,
        "allocated": 0,
        "in_transit": 0,
    }
    assert event_types_after(net, start) == [
        "omniretail.inventory.allocated",
        "omniretail.inventory.fulfilled",
    ]
    assert [r["kind"] for r in ledger(net)][-2:] == ["allocate", "fulfil"]
    refused(net, UnknownHold, lambda uow: service.sell_reservation(uow, hold.id, actor="t"))
    assert_verified(net)


def test_direct_allocation_and_its_release(net):
    receive(net, SKU, "DC1", 5)
    data = SaleCreate(sku=SKU, location="DC1", channel="WEB", quantity=3, reference="SO-2")
    hold = run(net, lambda uow: service.allocate_stock(uow, data, actor="cc"))
    assert (hold.kind, hold.expires_at) == ("order", None)
    start = outbox_position(net)
    run(net, lambda uow: service.release_allocation(uow, hold.id, actor="t"))
    assert counters(net, SKU, "DC1")["allocated"] == 0
    assert ledger(net)[-1]["kind"] == "deallocate"
    assert event_types_after(net, start) == ["omniretail.inventory.allocation_released"]
    assert_verified(net)


# --- expiry ------------------------------------------------------------------------------------


def test_an_expired_hold_never_blocks_a_reservation(net, clock: FixedClock):
    receive(net, SKU, "LON1", 2)
    stale = reserve(net, 2)
    clock.advance(minutes=16)
    start = outbox_position(net)
    fresh = reserve(net, 2)  # no sweep ran: released lazily
    assert fresh.status == "active"
    assert run(net, lambda uow: service.get_hold(uow, stale.id)).status == "expired"
    assert event_types_after(net, start) == [
        "omniretail.inventory.reservation_expired",
        "omniretail.inventory.reserved",
    ]
    assert [r["kind"] for r in ledger(net)][-2:] == ["expire", "reserve"]
    assert_verified(net)


def test_an_expired_hold_never_blocks_a_direct_sale(net, clock: FixedClock):
    receive(net, SKU, "LON1", 1)
    reserve(net, 1)
    clock.advance(minutes=16)
    data = SaleCreate(sku=SKU, location="LON1", channel="POS", quantity=1)
    assert run(net, lambda uow: service.sell_stock(uow, data, actor="till")).on_hand == 0
    assert_verified(net)


def test_a_refused_reservation_keeps_expired_holds_as_they_were(net, clock: FixedClock):
    receive(net, SKU, "LON1", 2)
    reserve(net, 1)
    clock.advance(minutes=16)
    data = SaleCreate(sku=SKU, location="LON1", channel="WEB", quantity=3)
    refused(net, OutOfStock, lambda uow: service.reserve_stock(uow, data, actor="t"))


def test_sweep_releases_expired_holds_only_once(net, clock: FixedClock):
    receive(net, SKU, "LON1", 5)
    receive(net, OTHER, "LON2", 5)
    expiring = reserve(net, 2)
    other = run(
        net,
        lambda uow: service.reserve_stock(
            uow, SaleCreate(sku=OTHER, location="LON2", channel="WEB", quantity=1), actor="t"
        ),
    )
    kept = reserve(net, 1)
    clock.advance(minutes=10)
    run(net, lambda uow: service.refresh_reservation(uow, kept.id, actor="t"))
    clock.advance(minutes=6)
    start = outbox_position(net)
    assert run(net, lambda uow: service.release_expired_holds(uow, actor="sweep")) == 2
    assert run(net, lambda uow: service.release_expired_holds(uow, actor="sweep")) == 0
    statuses = {
        h: run(net, lambda uow, h=h: service.get_hold(uow, h).status)
        for h in (expiring.id, other.id, kept.id)
    }
    assert statuses == {expiring.id: "expired", other.id: "expired", kept.id: "active"}
    assert counters(net, SKU, "LON1")["reserved"] == 1
    assert counters(net, OTHER, "LON2")["reserved"] == 0
    assert sorted(event_types_after(net, start)) == ["omniretail.inventory.reservation_expired"] * 2
    assert_verified(net)


# --- counts ------------------------------------------------------------------------------------


def test_a_count_posts_the_difference_to_the_ledger(net):
    receive(net, SKU, "LON1", 10)
    start = outbox_position(net)
    level = run(
        net,
        lambda uow: service.count_stock(
            uow, CountCreate(sku=SKU, location="LON1", counted_quantity=7), actor="counter"
        ),
    )
    assert level.on_hand == 7
    row = ledger(net)[-1]
    assert (row["kind"], row["on_hand"], row["reason"]) == ("cycle_count", -3, "cycle_count")
    assert event_types_after(net, start) == [
        "omniretail.inventory.count_corrected",
        "omniretail.inventory.counted",
    ]
    run(
        net,
        lambda uow: service.count_stock(
            uow,
            CountCreate(sku=SKU, location="LON1", counted_quantity=9, source="sensor"),
            actor="shelf-7",
        ),
    )
    assert (ledger(net)[-1]["kind"], ledger(net)[-1]["on_hand"]) == ("sensor_count", 2)
    assert_verified(net)


def test_a_count_that_matches_writes_no_ledger_row(net):
    receive(net, SKU, "LON1", 4)
    rows = len(ledger(net))
    start = outbox_position(net)
    run(
        net,
        lambda uow: service.count_stock(
            uow, CountCreate(sku=SKU, location="LON1", counted_quantity=4), actor="t"
        ),
    )
    assert len(ledger(net)) == rows
    assert event_types_after(net, start) == ["omniretail.inventory.counted"]


def test_a_count_of_a_never_stocked_sku_creates_its_row(net):
    run(
        net,
        lambda uow: service.count_stock(
            uow, CountCreate(sku=OTHER, location="MAN1", counted_quantity=6), actor="t"
        ),
    )
    assert counters(net, OTHER, "MAN1")["on_hand"] == 6
    assert_verified(net)


def test_a_count_below_the_holds_releases_expired_then_newest_reservations(net, clock):
    receive(net, SKU, "LON1", 10)
    oldest = reserve(net, 2)
    clock.advance(minutes=1)
    middle = reserve(net, 3)
    clock.advance(minutes=1)
    newest = reserve(net, 4)
    clock.advance(minutes=13, seconds=30)  # only the oldest (15 min TTL) has expired
    start = outbox_position(net)
    level = run(
        net,
        lambda uow: service.count_stock(
            uow, CountCreate(sku=SKU, location="LON1", counted_quantity=4), actor="t"
        ),
    )
    # 9 held, room for 4: the expired 2 go first, then the newest 4; the middle 3 stay.
    assert (level.on_hand, level.reserved) == (4, 3)
    statuses = [
        run(net, lambda uow, h=h: service.get_hold(uow, h.id).status)
        for h in (oldest, middle, newest)
    ]
    assert statuses == ["released", "active", "released"]
    assert event_types_after(net, start).count("omniretail.inventory.reservation_released") == 2
    assert_verified(net)


def test_a_count_below_allocated_units_is_refused(net):
    receive(net, SKU, "DC1", 5)
    data = SaleCreate(sku=SKU, location="DC1", channel="WEB", quantity=3)
    run(net, lambda uow: service.allocate_stock(uow, data, actor="t"))
    error = refused(
        net,
        CountBelowAllocated,
        lambda uow: service.count_stock(
            uow, CountCreate(sku=SKU, location="DC1", counted_quantity=2), actor="t"
        ),
    )
    assert error.field == "counted_quantity"


# --- policies and replenishment ----------------------------------------------------------------


def test_replenishment_is_suggested_once_per_crossing(net):
    receive(net, SKU, "LON1", 10)
    run(
        net,
        lambda uow: service.set_policy(
            uow, SKU, "LON1", PolicyWrite(reorder_point=5, order_up_to=12), actor="buyer"
        ),
    )
    start = outbox_position(net)

    def sell(quantity: int) -> None:
        data = SaleCreate(sku=SKU, location="LON1", channel="POS", quantity=quantity)
        run(net, lambda uow: service.sell_stock(uow, data, actor="till"))

    sell(4)  # 10 -> 6: above the reorder point
    sell(1)  # 6 -> 5: crosses
    sell(1)  # 5 -> 4: still below, no second suggestion
    suggestions = [d for t, d in events_after(net, start) if t.endswith("replenishment_suggested")]
    assert suggestions == [
        {
            "sku": SKU,
            "location": "LON1",
            "position": 5,
            "reorder_point": 5,
            "order_up_to": 12,
            "suggested_quantity": 7,
        }
    ]
    receive(net, SKU, "LON1", 10)  # back to 14
    start = outbox_position(net)
    sell(9)  # 14 -> 5: crosses again
    assert event_types_after(net, start).count("omniretail.inventory.replenishment_suggested") == 1


def test_event_type_of_a_replenishment_suggestion(net):
    receive(net, SKU, "LON1", 3)
    run(
        net,
        lambda uow: service.set_policy(uow, SKU, "LON1", PolicyWrite(reorder_point=5), actor="t"),
    )
    assert "omniretail.inventory.replenishment_suggested" in event_types_after(net)


def test_a_count_can_cross_the_reorder_point(net):
    receive(net, SKU, "LON1", 10)
    run(
        net,
        lambda uow: service.set_policy(uow, SKU, "LON1", PolicyWrite(reorder_point=3), actor="t"),
    )
    start = outbox_position(net)
    run(
        net,
        lambda uow: service.count_stock(
            uow, CountCreate(sku=SKU, location="LON1", counted_quantity=2), actor="t"
        ),
    )
    assert "omniretail.inventory.replenishment_suggested" in event_types_after(net, start)


def test_policy_validation():
    with pytest.raises(ValidationError, match="order_up_to"):
        PolicyWrite(reorder_point=10, order_up_to=5)
    with pytest.raises(ValidationError):
        PolicyWrite(safety_stock=-1)


# --- transfers ---------------------------------------------------------------------------------


def _transfer(quantity: int = 4) -> TransferCreate:
    return TransferCreate(
        from_location="DC1",
        to_location="LON2",
        lines=[TransferLineIn(sku=SKU, quantity=quantity), TransferLineIn(sku=OTHER, quantity=1)],
        reference="TR-1",
    )


def test_transfer_requested_shipped_received(net):
    receive(net, SKU, "DC1", 10)
    receive(net, OTHER, "DC1", 1)
    start = outbox_position(net)
    requested = run(net, lambda uow: transfers.request_transfer(uow, _transfer(), actor="planner"))
    assert requested.status == "requested"
    assert counters(net, SKU, "DC1") == {
        "on_hand": 10,
        "reserved": 0,
        "allocated": 4,
        "in_transit": 0,
    }
    assert_verified(net)

    shipped = run(net, lambda uow: transfers.ship_transfer(uow, requested.id, actor="dock"))
    assert shipped.status == "in_transit" and shipped.shipped_at is not None
    assert counters(net, SKU, "DC1") == {
        "on_hand": 6,
        "reserved": 0,
        "allocated": 0,
        "in_transit": 0,
    }
    assert counters(net, SKU, "LON2") == {
        "on_hand": 0,
        "reserved": 0,
        "allocated": 0,
        "in_transit": 4,
    }
    in_transit = run(net, lambda uow: service.get_stock_level(uow, SKU, "LON2"))
    assert (in_transit.in_transit, in_transit.available) == (4, 0)
    assert_verified(net)

    received = run(net, lambda uow: transfers.receive_transfer(uow, requested.id, actor="store"))
    assert received.status == "received" and received.received_at is not None
    assert counters(net, SKU, "LON2") == {
        "on_hand": 4,
        "reserved": 0,
        "allocated": 0,
        "in_transit": 0,
    }
    rows = [(r["location"], r["kind"], r["reason"]) for r in ledger(net, SKU)][1:]
    assert rows == [
        ("DC1", "transfer_request", "transfer to LON2 requested"),
        ("DC1", "transfer_out", "shipped to LON2"),
        ("LON2", "transfer_in_transit", "in transit from DC1"),
        ("LON2", "transfer_in", "received from DC1"),
    ]
    assert all(r["reference"] == requested.id for r in ledger(net, SKU)[1:])
    events = events_after(net, start)
    assert [t for t, _ in events] == [
        "omniretail.inventory.transfer_requested",
        "omniretail.inventory.transfer_shipped",
        "omniretail.inventory.transfer_received",
    ]
    assert events[0][1] == {
        "transfer_id": requested.id,
        "from_location": "DC1",
        "to_location": "LON2",
        "lines": [{"sku": SKU, "quantity": 4}, {"sku": OTHER, "quantity": 1}],
    }
    assert_verified(net)


def test_transfer_cancel_frees_the_units(net):
    receive(net, SKU, "DC1", 10)
    receive(net, OTHER, "DC1", 1)
    transfer = run(net, lambda uow: transfers.request_transfer(uow, _transfer(), actor="t"))
    cancelled = run(net, lambda uow: transfers.cancel_transfer(uow, transfer.id, actor="t"))
    assert cancelled.status == "cancelled"
    assert counters(net, SKU, "DC1")["allocated"] == 0
    assert ledger(net, SKU)[-1]["kind"] == "transfer_cancel"
    assert_verified(net)


def test_illegal_transfer_transitions_are_refused(net):
    receive(net, SKU, "DC1", 10)
    receive(net, OTHER, "DC1", 1)
    transfer = run(net, lambda uow: transfers.request_transfer(uow, _transfer(), actor="t"))
    error = refused(
        net,
        IllegalTransferTransition,
        lambda uow: transfers.receive_transfer(uow, transfer.id, actor="t"),
    )
    assert IllegalTransferTransition.status == 409
    assert error.extra == {"current_status": "requested"}
    run(net, lambda uow: transfers.ship_transfer(uow, transfer.id, actor="t"))
    for move in (transfers.ship_transfer, transfers.cancel_transfer):
        refused(net, IllegalTransferTransition, lambda uow, m=move: m(uow, transfer.id, actor="t"))
    run(net, lambda uow: transfers.receive_transfer(uow, transfer.id, actor="t"))
    for move in (transfers.receive_transfer, transfers.ship_transfer, transfers.cancel_transfer):
        refused(net, IllegalTransferTransition, lambda uow, m=move: m(uow, transfer.id, actor="t"))
    refused(net, UnknownTransfer, lambda uow: transfers.ship_transfer(uow, "nope", actor="t"))


def test_transfer_beyond_free_stock_writes_nothing(net):
    receive(net, SKU, "DC1", 3)
    receive(net, OTHER, "DC1", 1)
    error = refused(
        net, OutOfStock, lambda uow: transfers.request_transfer(uow, _transfer(4), actor="t")
    )
    assert error.field == "lines.0.quantity"


def test_transfer_validation():
    with pytest.raises(ValidationError, match="must differ"):
        TransferCreate(from_location="DC1", to_location="DC1", lines=[{"sku": SKU, "quantity": 1}])
    with pytest.raises(ValidationError, match="only once"):
        TransferCreate(
            from_location="DC1",
            to_location="LON1",
            lines=[{"sku": SKU, "quantity": 1}, {"sku": SKU, "quantity": 2}],
        )


# --- availability ------------------------------------------------------------------------------


def _atp_network(container: Container) -> None:
    receive(container, SKU, "DC1", 100)
    receive(container, SKU, "LON1", 10)
    receive(container, SKU, "LON2", 3)
    receive(container, SKU, "MAN1", 1)
    run(
        container,
        lambda uow: service.set_policy(uow, SKU, "LON1", PolicyWrite(safety_stock=2), actor="t"),
    )
    run(
        container,
        lambda uow: service.set_policy(uow, SKU, "LON2", PolicyWrite(safety_stock=5), actor="t"),
    )
    reserve(container, 1, location="LON1")


def test_atp_per_location_subtracts_holds_and_safety_stock(net):
    _atp_network(net)
    [atp] = run(net, lambda uow: availability.availability(uow, [SKU]))
    per_location = {loc.location: (loc.available, loc.on_hand) for loc in atp.locations}
    assert per_location == {
        "DC1": (100, 100),
        "LON1": (7, 10),  # 10 - 1 reserved - 2 safety
        "LON2": (0, 3),  # safety stock above on hand never goes negative
        "MAN1": (1, 1),
    }
    assert atp.available == 108


def test_atp_per_channel_uses_its_locations_and_buffer(net):
    _atp_network(net)
    run(
        net,
        lambda uow: catalog.save_channel(
            uow,
            ChannelWrite(
                code="POS",
                name="Tills",
                kind=ChannelKind.STORE_POS,
                atp_buffer=3,
                location_codes=["LON1", "LON2", "MAN1"],
            ),
        ),
    )
    [pos] = run(net, lambda uow: availability.availability(uow, [SKU], channel="POS"))
    assert (pos.channel, pos.available) == ("POS", 7 + 0 + 1 - 3)
    assert {loc.location for loc in pos.locations} == {"LON1", "LON2", "MAN1"}
    [one] = run(
        net, lambda uow: availability.availability(uow, [SKU], channel="POS", locations=["MAN1"])
    )
    assert one.available == 0  # 1 - buffer 3, never negative


def test_atp_for_a_batch_keeps_request_order(net):
    _atp_network(net)
    rows = run(net, lambda uow: availability.availability(uow, [OTHER, SKU, OTHER]))
    assert [(r.sku, r.available) for r in rows] == [(OTHER, 0), (SKU, 108)]


def test_atp_of_unknown_codes_is_refused(net):
    with pytest.raises(UnknownSku, match="NOPE"):
        run(net, lambda uow: availability.availability(uow, [SKU, "NOPE"]))
    with pytest.raises(UnknownLocation):
        run(net, lambda uow: availability.availability(uow, [SKU], locations=["NOWHERE"]))
    with pytest.raises(UnknownChannel):
        run(net, lambda uow: availability.availability(uow, [SKU], channel="NOPE"))


def test_nearby_stores_with_stock_sorted_by_distance_within_radius(net):
    receive(net, SKU, "LON1", 2)
    receive(net, SKU, "LON2", 1)
    receive(net, SKU, "MAN1", 5)
    receive(net, SKU, "DC1", 50)  # a warehouse, not a store
    reserve(net, 1, location="LON2")  # nothing left to promise there
    king_cross = (51.5308, -0.1238)
    near = run(net, lambda uow: availability.nearby_stock(uow, SKU, *king_cross, radius_km=10))
    assert [(s.location, s.available) for s in near] == [("LON1", 2)]
    wide = run(net, lambda uow: availability.nearby_stock(uow, SKU, *king_cross, radius_km=500))
    assert [s.location for s in wide] == ["LON1", "MAN1"]
    assert wide[0].distance_km < wide[1].distance_km
    assert 250 < wide[1].distance_km < 270
    assert run(net, lambda uow: availability.nearby_stock(uow, OTHER, *king_cross)) == []
    with pytest.raises(UnknownSku):
        run(net, lambda uow: availability.nearby_stock(uow, "NOPE", *king_cross))


# --- verification and events -------------------------------------------------------------------


def test_verify_detects_a_counter_changed_behind_the_ledger(net):
    receive(net, SKU, "LON1", 5)
    reserve(net, 1)
    assert_verified(net)
    with net.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE stock_levels SET on_hand = on_hand + 1, reserved = reserved + 1"
                " WHERE sku_code = :sku AND location_code = 'LON1'"
            ),
            {"sku": SKU},
        )
    with net.read_uow() as uow:
        report = availability.verify(uow)
    assert not report.ok
    assert {(d.counter, d.stored, d.expected, d.source) for d in report.drift} == {
        ("on_hand", 6, 5, "ledger"),
        ("reserved", 2, 1, "ledger"),
        ("reserved", 2, 1, "holds"),
    }


def test_every_event_payload_is_plain_json(net, clock):
    receive(net, SKU, "DC1", 10)
    receive(net, SKU, "LON1", 10)
    receive(net, OTHER, "DC1", 1)
    run(
        net,
        lambda uow: service.set_policy(
            uow, SKU, "LON1", PolicyWrite(safety_stock=1, reorder_point=8), actor="t"
        ),
    )
    hold = reserve(net, 2)
    run(net, lambda uow: service.refresh_reservation(uow, hold.id, actor="t"))
    run(net, lambda uow: service.allocate_reservation(uow, hold.id, "SO", actor="t"))
    run(net, lambda uow: service.fulfil_allocation(uow, hold.id, actor="t"))
    reserve(net, 1)
    clock.advance(minutes=20)
    run(net, lambda uow: service.release_expired_holds(uow, actor="t"))
    run(
        net,
        lambda uow: service.count_stock(
            uow, CountCreate(sku=SKU, location="LON1", counted_quantity=3), actor="t"
        ),
    )
    transfer = run(net, lambda uow: transfers.request_transfer(uow, _transfer(), actor="t"))
    run(net, lambda uow: transfers.ship_transfer(uow, transfer.id, actor="t"))
    run(net, lambda uow: transfers.receive_transfer(uow, transfer.id, actor="t"))
    types = set(event_types_after(net))
    assert {
        "omniretail.inventory.reservation_refreshed",
        "omniretail.inventory.reservation_expired",
        "omniretail.inventory.replenishment_suggested",
        "omniretail.inventory.policy_set",
        "omniretail.inventory.transfer_received",
    } <= types
    assert_outbox_json_round_trips(net)
    for _, data in events_after(net):
        if "expires_at" in data:
            assert data["expires_at"].endswith("+00:00")
    assert_verified(net)
