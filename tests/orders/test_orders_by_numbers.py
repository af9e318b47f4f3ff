"""``orders.orders_by_numbers`` (the promotions list's and the customer page's orders with
their units): the units of the orders named, cancelled lines left out, read from those
orders' lines only, not from every order line. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from omniretail.orders import service as orders
from omniretail.orders.models import Order, OrderLine
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive
from tests.plans import plan_of


def _orders(container, client) -> list[str]:
    """Three orders: two lines; one line; two lines of which a unit was cancelled."""
    make_orders_network(container)
    receive(container, "A1", "DC1", 20)
    receive(container, "B2", "DC1", 20)
    numbers = []
    for lines in ([("A1", 2), ("B2", 1)], [("A1", 3)], [("A1", 3), ("B2", 2)]):
        token = new_cart(client)
        for sku, quantity in lines:
            ok(add(client, token, sku, quantity))
        numbers.append(ok(checkout(client, token), 201)["number"])
    body = {"lines": [{"line_no": 1, "quantity": 1}]}
    ok(client.post(f"/api/v1/orders/{numbers[2]}/cancel", json=body))
    return numbers


def _units_read_from_every_line(container, numbers: list[str]) -> dict[str, tuple[int, int]]:
    with container.read_uow() as uow:
        rows = uow.session.execute(
            select(Order.number, OrderLine.sku_code, OrderLine.status, OrderLine.quantity)
            .add_columns(OrderLine.quantity_returned)
            .join(OrderLine, OrderLine.order_id == Order.id)
        ).all()
    units = {n: (0, 0) for n in numbers}
    for number, sku, status, quantity, returned in rows:
        if number in units and sku is not None and status != "cancelled":
            units[number] = (units[number][0] + quantity, units[number][1] + returned)
    return units


def test_the_units_are_those_of_the_orders_lines_cancelled_ones_left_out(container, client):
    numbers = _orders(container, client)
    asked = [numbers[0], numbers[2], "NOPE-1"]
    with container.read_uow() as uow:
        found = orders.orders_by_numbers(uow, asked)
    assert {o.number: (o.units, o.units_returned) for o in found} == (
        _units_read_from_every_line(container, asked[:2])
    )
    assert {o.number: o.units for o in found} == {numbers[0]: 3, numbers[2]: 4}


def test_only_the_named_orders_lines_are_read(container, client, backend):
    """PostgreSQL's choice follows its statistics (on few orders of many it takes the index:
    docs/performance.md), so there the lines must be found by their order once scanning the
    table is ruled out (without the bound it reads the whole index); SQLite's planner takes
    the index as it is."""
    numbers = _orders(container, client)
    plan = plan_of(
        container,
        backend,
        "order_lines",
        lambda uow: orders.orders_by_numbers(uow, numbers[:1]),
        analyze=("order_lines", "orders"),
    )
    if backend == "sqlite":
        on_lines = [step for step in plan if " order_lines " in f"{step} "]
        assert on_lines and all(step.startswith("SEARCH order_lines") for step in on_lines)
        assert all("(order_id=?)" in step for step in on_lines), plan
    else:
        at = [i for i, step in enumerate(plan) if " on order_lines" in step]
        assert len(at) == 1 and "Seq Scan" not in plan[at[0]], plan
        assert plan[at[0] + 1].startswith("Index Cond: (order_id = "), plan
