"""The typed inventory events store exactly the keys the old dict events stored: the types
with two shapes keep only their shape's keys."""

from __future__ import annotations

from omniretail.inventory.events import (
    AllocationReleased,
    ReceivedInBulk,
    ReservationReleased,
    Sold,
    TransferLine,
    TransferShipped,
)

STOCK = {"sku": "85123A", "location": "STORE-1"}


def test_a_till_sale_stores_the_movement_keys() -> None:
    event = Sold(
        **STOCK, available=4, reference="r1", on_hand_delta=-1, on_hand=5, reason="x", actor="a"
    ).envelope()
    assert (event.type, event.subject) == ("inventory.sold", "stock/85123A@STORE-1")
    assert event.data == {
        **STOCK,
        "on_hand_delta": -1,
        "on_hand": 5,
        "available": 4,
        "reason": "x",
        "reference": "r1",
        "actor": "a",
    }


def test_a_sold_reservation_stores_the_hold_keys_and_parses_back() -> None:
    sold = Sold(**STOCK, available=4, reference=None, hold_id="h1", quantity=2, channel="WEB")
    data = sold.envelope().data
    assert data == {
        **STOCK,
        "hold_id": "h1",
        "quantity": 2,
        "channel": "WEB",
        "reference": None,
        "available": 4,
    }
    assert Sold.parse(data) == sold


def test_a_reservation_released_by_a_count_stores_the_reason_only() -> None:
    by_count = ReservationReleased(**STOCK, hold_id="h1", quantity=2, reason="count below holds")
    by_cart = ReservationReleased(
        **STOCK, hold_id="h1", quantity=2, channel="WEB", reference=None, available=3
    )
    assert by_count.data == {**STOCK, "hold_id": "h1", "quantity": 2, "reason": "count below holds"}
    assert by_cart.data == {
        **STOCK,
        "hold_id": "h1",
        "quantity": 2,
        "channel": "WEB",
        "reference": None,
        "available": 3,
    }


def test_remaining_is_stored_only_for_a_partial_release() -> None:
    whole = AllocationReleased(
        **STOCK, hold_id="h1", quantity=2, channel=None, reference="o1", available=3
    )
    part = AllocationReleased(
        **STOCK, hold_id="h1", quantity=1, channel=None, reference="o1", available=3, remaining=1
    )
    assert "remaining" not in whole.data
    assert part.data["remaining"] == 1


def test_bulk_receipts_without_a_reference_have_the_bulk_subject() -> None:
    kwargs = {"stock_rows": 1, "units": 2, "locations": ["A"], "reason": None, "actor": "x"}
    assert ReceivedInBulk(**kwargs, reference=None).subject == "receipts/bulk"
    assert ReceivedInBulk(**kwargs, reference="PO-1").subject == "receipts/PO-1"


def test_transfer_lines_are_stored_as_objects() -> None:
    event = TransferShipped(
        transfer_id="t1",
        from_location="A",
        to_location="B",
        lines=[TransferLine(sku="S", quantity=2)],
    ).envelope()
    assert event.subject == "transfers/t1"
    assert event.data == {
        "transfer_id": "t1",
        "from_location": "A",
        "to_location": "B",
        "lines": [{"sku": "S", "quantity": 2}],
    }
