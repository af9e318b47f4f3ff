"""No oversell, proven with real parallel workers on SQLite and PostgreSQL.

Every worker has its own connection and transaction; they fight over the last units of one
SKU. Afterwards: units sold never exceed the stock, no counter is negative, and the counters
equal the ledger (the verify report is clean)."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from omniretail.bootstrap import Container
from omniretail.inventory import service
from omniretail.inventory.errors import HoldNotActive, OutOfStock
from omniretail.inventory.schemas import SaleCreate
from omniretail.kernel.errors import DomainError
from tests.concurrency.live_server import live_server
from tests.conftest import FixedClock
from tests.factories import make_network, receive
from tests.inventory.state import (
    assert_verified,
    counters,
    event_types_after,
    events_after,
    ledger,
    outbox_position,
)

SKU = "10001"
WORKERS = 40  # >= 32; on PostgreSQL more than the 32 write connections, so some queue
API = "/api/v1/inventory"


def parallel(workers: int, task: Callable[[int], Any]) -> list[Any]:
    """Runs ``task(i)`` on ``workers`` threads released together by a barrier."""
    barrier = threading.Barrier(workers)

    def start(i: int) -> Any:
        barrier.wait()
        return task(i)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(start, range(workers)))


def assert_sound(container: Container, stock: int, sold: int) -> None:
    level = counters(container, SKU, "LON1")
    assert level is not None
    assert sold <= stock
    assert level["on_hand"] == stock - sold
    assert min(level.values()) >= 0
    assert level["reserved"] + level["allocated"] <= level["on_hand"]
    assert_verified(container)


def test_buyers_racing_for_the_last_units_never_oversell(container):
    make_network(container)
    receive(container, SKU, "LON1", 10)

    def buy(_: int) -> str:
        data = SaleCreate(sku=SKU, location="LON1", channel="WEB", quantity=1)
        try:
            with container.uow() as uow:
                hold = service.reserve_stock(uow, data, actor="buyer")
            with container.uow() as uow:
                service.sell_reservation(uow, hold.id, actor="buyer")
        except OutOfStock:
            return "out-of-stock"
        return "sold"

    outcomes = Counter(parallel(WORKERS, buy))
    assert outcomes == {"sold": 10, "out-of-stock": WORKERS - 10}
    assert_sound(container, stock=10, sold=10)
    events = event_types_after(container)
    assert events.count("omniretail.inventory.sold") == 10
    assert events.count("omniretail.inventory.reserved") == 10


def test_mixed_reserve_allocate_sell_release_and_till_sales_never_oversell(container):
    """Each worker keeps going until it meets no stock: reservations that are sold, released
    or allocated and fulfilled, direct allocations and till sales of 1-3 units."""
    make_network(container)
    stock = 60
    receive(container, SKU, "LON1", stock)
    sold_lock = threading.Lock()
    sold = [0]

    def shop(i: int) -> Counter[str]:
        rng = random.Random(i)
        seen: Counter[str] = Counter()
        misses = 0
        while misses < 3:
            quantity = rng.randint(1, 3)
            action = rng.choice(["sell", "sell", "release", "fulfil", "allocate", "till"])
            channel = "POS" if action == "till" else "WEB"
            data = SaleCreate(sku=SKU, location="LON1", channel=channel, quantity=quantity)
            try:
                with container.uow() as uow:
                    if action == "till":
                        service.sell_stock(uow, data, actor="till")
                    elif action == "allocate":
                        hold = service.allocate_stock(uow, data, actor="cc")
                    else:
                        hold = service.reserve_stock(uow, data, actor="web")
                with container.uow() as uow:
                    if action == "sell":
                        service.sell_reservation(uow, hold.id, actor="web")
                    elif action == "release":
                        service.release_reservation(uow, hold.id, actor="web")
                    elif action == "fulfil":
                        service.allocate_reservation(uow, hold.id, None, actor="web")
                        service.fulfil_allocation(uow, hold.id, actor="dc")
                    elif action == "allocate":
                        service.fulfil_allocation(uow, hold.id, actor="dc")
            except OutOfStock:
                misses += 1
                seen["out-of-stock"] += 1
                continue
            seen[action] += 1
            if action != "release":
                with sold_lock:
                    sold[0] += quantity
        return seen

    totals = sum(parallel(WORKERS, shop), Counter())
    assert totals["out-of-stock"] >= WORKERS * 3
    assert_sound(container, stock=stock, sold=sold[0])
    level = counters(container, SKU, "LON1")
    assert level == {"on_hand": stock - sold[0], "reserved": 0, "allocated": 0, "in_transit": 0}
    assert level["on_hand"] < 3  # every worker met "no stock" before stopping


def test_buyers_racing_over_http_never_oversell(container):
    make_network(container)
    receive(container, SKU, "LON1", 10)
    with (
        live_server(container, lane_threads=WORKERS) as base,
        httpx.Client(
            base_url=base, timeout=120, limits=httpx.Limits(max_connections=WORKERS)
        ) as http,
    ):

        def buy(i: int) -> tuple[int, dict[str, Any]]:
            body = {"sku": SKU, "location": "LON1", "channel": "WEB", "quantity": 1}
            if i % 4 == 0:  # a quarter buy at the till with no reservation
                r = http.post(f"{API}/sales", json={**body, "channel": "POS"})
                return r.status_code, r.json()
            r = http.post(f"{API}/reservations", json=body)
            if r.status_code != 201:
                return r.status_code, r.json()
            r = http.post(f"{API}/reservations/{r.json()['id']}/sell")
            return r.status_code, r.json()

        results = parallel(WORKERS, buy)
        report = http.get(f"{API}/verify").json()
    statuses = Counter(status for status, _ in results)
    assert statuses[200] + statuses[201] == 10
    assert statuses[409] == WORKERS - 10
    for status, body in results:
        if status == 409:
            assert body["type"] == "https://omniretail.dev/problems/out-of-stock"
            assert body["field"] == "quantity"
    assert report == {"checked": 1, "drift": []}
    assert_sound(container, stock=10, sold=10)


def test_reservations_racing_over_http_take_exactly_the_stock(container):
    """On PostgreSQL each reservation is one statement with its commit: every hold, ledger
    row and event belongs to a unit taken, and each event saw the stock its statement left."""
    make_network(container)
    receive(container, SKU, "LON1", 10)
    start = outbox_position(container)
    with (
        live_server(container, lane_threads=WORKERS) as base,
        httpx.Client(
            base_url=base, timeout=120, limits=httpx.Limits(max_connections=WORKERS)
        ) as http,
    ):

        def reserve(_: int) -> int:
            body = {"sku": SKU, "location": "LON1", "channel": "WEB", "quantity": 1}
            return http.post(f"{API}/reservations", json=body).status_code

        statuses = Counter(parallel(WORKERS, reserve))
    assert statuses == {201: 10, 409: WORKERS - 10}
    assert counters(container, SKU, "LON1") == {
        "on_hand": 10,
        "reserved": 10,
        "allocated": 0,
        "in_transit": 0,
    }
    reserved = [d for t, d in events_after(container, start) if t.endswith(".reserved")]
    assert sorted(d["available"] for d in reserved) == list(range(10))
    assert len({d["hold_id"] for d in reserved}) == 10
    assert [m["kind"] for m in ledger(container, SKU)] == ["receipt"] + ["reserve"] * 10
    assert_verified(container)


def test_sell_and_release_of_one_hold_race_and_exactly_one_wins(container):
    make_network(container)
    rounds = 15
    receive(container, SKU, "LON1", rounds)
    data = SaleCreate(sku=SKU, location="LON1", channel="WEB", quantity=1)
    outcomes: Counter[str] = Counter()
    for _ in range(rounds):
        with container.uow() as uow:
            hold = service.reserve_stock(uow, data, actor="web")
        ends = [service.sell_reservation, service.release_reservation] * 4

        def end(i: int, hold_id: str = hold.id, ends: list[Any] = ends) -> str:
            try:
                with container.uow() as uow:
                    ends[i](uow, hold_id, actor="racer")
            except HoldNotActive:
                return "refused"
            return ends[i].__name__

        result = Counter(parallel(len(ends), end))
        assert result["refused"] == len(ends) - 1
        outcomes.update(k for k in result if k != "refused")
    sold = outcomes["sell_reservation"]
    assert sold + outcomes["release_reservation"] == rounds
    assert_sound(container, stock=rounds, sold=sold)
    assert counters(container, SKU, "LON1")["reserved"] == 0


def test_concurrent_sweeps_never_release_a_hold_twice(container, clock: FixedClock):
    make_network(container, skus=["10001", "10002"])
    receive(container, SKU, "LON1", 30)
    receive(container, "10002", "LON2", 30)
    for i in range(40):
        data = SaleCreate(
            sku=SKU if i % 2 else "10002",
            location="LON1" if i % 2 else "LON2",
            channel="WEB",
            quantity=1,
        )
        with container.uow() as uow:
            service.reserve_stock(uow, data, actor="web")
    clock.advance(minutes=16)

    def sweep(_: int) -> int:
        released = 0
        while True:
            with container.uow() as uow:
                n = service.release_expired_holds(uow, actor="sweeper", limit=7)
            if n == 0:
                return released
            released += n

    assert sum(parallel(8, sweep)) == 40
    assert event_types_after(container).count("omniretail.inventory.reservation_expired") == 40
    assert counters(container, SKU, "LON1")["reserved"] == 0
    assert counters(container, "10002", "LON2")["reserved"] == 0
    assert_verified(container)


def test_sweeps_racing_with_reservations_on_expired_stock(container, clock: FixedClock):
    """Lazy release (inside a reservation) and sweeps compete for the same expired holds."""
    make_network(container)
    receive(container, SKU, "LON1", 20)
    data = SaleCreate(sku=SKU, location="LON1", channel="WEB", quantity=1)
    for _ in range(20):
        with container.uow() as uow:
            service.reserve_stock(uow, data, actor="web")
    clock.advance(minutes=16)

    def act(i: int) -> str:
        try:
            with container.uow() as uow:
                if i % 4 == 0:
                    service.release_expired_holds(uow, actor="sweeper")
                    return "swept"
                service.reserve_stock(uow, data, actor="web")
                return "reserved"
        except DomainError as error:
            return error.slug

    outcomes = Counter(parallel(WORKERS, act))
    assert outcomes["reserved"] == 20  # every expired unit became available again, once
    assert outcomes["out-of-stock"] == WORKERS - WORKERS // 4 - 20
    level = counters(container, SKU, "LON1")
    assert (level["on_hand"], level["reserved"]) == (20, 20)
    assert_verified(container)


@pytest.mark.parametrize("workers", [WORKERS])
def test_counters_never_go_negative_under_write_off_and_reservation_races(container, workers):
    make_network(container)
    receive(container, SKU, "LON1", 15)
    from omniretail.inventory.schemas import StockChange

    def act(i: int) -> str:
        try:
            with container.uow() as uow:
                if i % 2:
                    service.write_off(
                        uow, StockChange(sku=SKU, location="LON1", quantity=1), actor="t"
                    )
                else:
                    service.reserve_stock(
                        uow,
                        SaleCreate(sku=SKU, location="LON1", channel="WEB", quantity=1),
                        actor="t",
                    )
        except OutOfStock:
            return "refused"
        return "done"

    outcomes = Counter(parallel(workers, act))
    assert outcomes["done"] == 15
    level = counters(container, SKU, "LON1")
    assert level["on_hand"] - level["reserved"] == 0
    assert min(level.values()) >= 0
    assert_verified(container)
