"""Receiving a transfer in parts: each receipt puts its units on hand and takes them out of
transit; the transfer is received with its last unit; a receipt never takes more than is
due, even when two stores' devices send theirs at the same moment (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter

import pytest

from omniretail.inventory import service
from omniretail.inventory.errors import IllegalTransferTransition, InvalidTransferReceipt
from omniretail.inventory.schemas import TransferCreate, TransferLineIn, TransferReceive
from tests.concurrency.test_no_oversell import parallel
from tests.factories import make_network, receive
from tests.inventory.state import assert_verified, counters, event_types_after


def _shipped(container, lines):
    with container.uow() as uow:
        t = service.request_transfer(
            uow,
            TransferCreate(
                from_location="DC1",
                to_location="LON1",
                lines=[TransferLineIn(sku=s, quantity=q) for s, q in lines],
            ),
            actor="test",
        )
        service.ship_transfer(uow, t.id, actor="test")
    return t.id


@pytest.fixture
def stocked(container):
    make_network(container)
    receive(container, "10001", "DC1", 100)
    receive(container, "10002", "DC1", 100)
    return container


def _receipt(**lines):
    return TransferReceive(lines=[TransferLineIn(sku=s, quantity=q) for s, q in lines.items()])


def test_a_transfer_is_received_in_parts(stocked):
    container = stocked
    tid = _shipped(container, [("10001", 10), ("10002", 4)])
    with container.uow() as uow:
        first = service.receive_transfer(uow, tid, actor="lon1", receipt=_receipt(**{"10001": 6}))
    assert first.status == "in_transit"
    assert [(ln.sku, ln.received) for ln in first.lines] == [("10001", 6), ("10002", 0)]
    assert counters(container, "10001", "LON1") == {
        "on_hand": 6,
        "reserved": 0,
        "allocated": 0,
        "in_transit": 4,
    }
    assert_verified(container)  # in transit = what is still due
    with container.uow() as uow, pytest.raises(InvalidTransferReceipt, match="only 4 of 10001"):
        service.receive_transfer(uow, tid, actor="lon1", receipt=_receipt(**{"10001": 5}))
    with container.uow() as uow, pytest.raises(InvalidTransferReceipt, match="not on this"):
        service.receive_transfer(uow, tid, actor="lon1", receipt=_receipt(**{"99999": 1}))
    with container.uow() as uow:
        done = service.receive_transfer(uow, tid, actor="lon1")  # the rest
    assert done.status == "received" and done.received_at is not None
    assert [(ln.sku, ln.received) for ln in done.lines] == [("10001", 10), ("10002", 4)]
    assert counters(container, "10001", "LON1")["on_hand"] == 10
    assert counters(container, "10002", "LON1") == {
        "on_hand": 4,
        "reserved": 0,
        "allocated": 0,
        "in_transit": 0,
    }
    assert_verified(container)
    with container.uow() as uow, pytest.raises(IllegalTransferTransition):
        service.receive_transfer(uow, tid, actor="lon1")
    assert event_types_after(container).count("omniretail.inventory.transfer_received") == 2


def test_the_list_filters_and_shows_what_was_received(stocked):
    container = stocked
    first = _shipped(container, [("10001", 2)])
    with container.uow() as uow:
        service.receive_transfer(uow, first, actor="lon1")
    second = _shipped(container, [("10002", 3)])
    with container.read_uow() as uow:
        everything = service.list_transfers(uow)
        moving = service.list_transfers(uow, status="in_transit")
        into_lon1 = service.list_transfers(uow, location="LON1")
        from_lon2 = service.list_transfers(uow, from_location="LON2")
    assert {t.id for t in everything} == {first, second}
    assert [t.id for t in moving] == [second]
    assert len(into_lon1) == 2 and from_lon2 == []


def test_concurrent_partial_receipts_never_receive_more_than_was_sent(stocked):
    """Twelve receipts of 3 units race for a line of 20: six (18 units) succeed; the rest are
    refused whole; the counters equal the ledger."""
    container = stocked
    tid = _shipped(container, [("10001", 20)])

    def receive_three(_: int) -> str:
        try:
            with container.uow() as uow:
                service.receive_transfer(uow, tid, actor="lon1", receipt=_receipt(**{"10001": 3}))
        except InvalidTransferReceipt:
            return "refused"
        return "received"

    outcomes = Counter(parallel(12, receive_three))
    assert outcomes == {"received": 6, "refused": 6}
    level = counters(container, "10001", "LON1")
    assert level is not None and (level["on_hand"], level["in_transit"]) == (18, 2)
    with container.read_uow() as uow:
        t = service.get_transfer(uow, tid)
    assert (t.status, t.lines[0].received) == ("in_transit", 18)
    assert_verified(container)


def test_the_api_receives_part_of_a_transfer(client, stocked):
    tid = _shipped(stocked, [("10001", 5)])
    part = client.post(
        f"/api/v1/inventory/transfers/{tid}/receive",
        json={"lines": [{"sku": "10001", "quantity": 2}]},
    )
    assert part.status_code == 200, part.text
    assert part.json()["lines"] == [{"sku": "10001", "quantity": 5, "received": 2}]
    too_many = client.post(
        f"/api/v1/inventory/transfers/{tid}/receive",
        json={"lines": [{"sku": "10001", "quantity": 4}]},
    )
    assert too_many.status_code == 422
    assert too_many.headers["content-type"].startswith("application/problem+json")
    rest = client.post(f"/api/v1/inventory/transfers/{tid}/receive")
    assert rest.json()["status"] == "received"
    listed = client.get("/api/v1/inventory/transfers", params={"status": "received"}).json()
    assert [t["id"] for t in listed] == [tid]
