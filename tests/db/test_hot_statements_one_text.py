"""The hot path's statements that take a few values (a cart's SKUs for its prices and stock,
the holds a checkout claims) are kept per count of values (``db.sql.listed``): the same
count sends the same text, one parameter per value, never re-rendered and never an array
on a few values (PostgreSQL estimates an array parameter at ten values, so a generic plan
never wins and it plans every call again). Over ``LISTED_MAX`` values they go as one array.
Each test runs on SQLite and PostgreSQL; the answers are checked on both."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from omniretail.bootstrap import Container
from omniretail.catalog import service as catalog
from omniretail.catalog.schemas import ProductCreate, SkuCreate
from omniretail.db.sql import LISTED_MAX, listed_values
from omniretail.inventory import service as inventory
from omniretail.pricing import service as pricing
from tests.orders.network import PRICES, add, checkout, make_orders_network, new_cart, ok, receive
from tests.rendering import rendered_again


@contextmanager
def _sent(container: Container) -> Iterator[list[str]]:
    texts: list[str] = []

    def remember(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        texts.append(" ".join(sql.split()))

    # on PostgreSQL the read engine is the write engine with options: its listeners are shared
    pools = {container.engine.pool: container.engine}
    pools.setdefault(container.read_engine.pool, container.read_engine)
    engines = [*pools.values(), *[e for e in [container.relaxed_engine] if e is not None]]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", remember)
    try:
        yield texts
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", remember)


def _naming(texts: list[str], *words: str) -> list[str]:
    return [t for t in texts if all(w in t for w in words)]


def _cart(client: Any, skus: list[str]) -> tuple[str, dict[str, Any]]:
    token = new_cart(client)
    cart: dict[str, Any] = {}
    for sku in skus:
        cart = ok(add(client, token, sku, 1))
    return token, cart


def test_a_carts_prices_and_stock_are_read_by_one_text_per_count(container, client, backend):
    make_orders_network(container)
    for sku in PRICES:
        receive(container, sku, "DC1", 10)
    with _sent(container) as first:
        _token, one = _cart(client, ["A1"])
    with _sent(container) as again:
        _token, also_one = _cart(client, ["B2"])
    with _sent(container) as more:
        _token, three = _cart(client, ["A1", "B2", "C3"])
    assert [line["sku"] for line in one["lines"]] == ["A1"]
    assert [line["sku"] for line in also_one["lines"]] == ["B2"]
    assert {line["sku"]: line["unit_price"] for line in three["lines"]} == {
        sku: f"{price:.2f}" for sku, price in PRICES.items()
    }
    words = {
        "prices": ("price_list_entries", "FROM skus"),
        "stock": ("FROM stock_levels", "ORDER BY stock_levels.sku_code"),
    }
    for read, naming in words.items():
        one_sku = set(_naming(first, *naming))
        assert len(one_sku) == 1, (read, one_sku)
        assert set(_naming(again, *naming)) == one_sku, read  # same count, same text
        assert not [t for t in one_sku | set(_naming(more, *naming)) if "ANY" in t], read
    # the cart's prices are read for all its SKUs: one text per count (1, 2, 3)
    assert len(set(_naming(more, *words["prices"]))) == 3


def test_a_checkout_claims_its_holds_by_one_text_per_count(container, client, backend):
    make_orders_network(container)
    for sku in PRICES:
        receive(container, sku, "DC1", 10)
    texts = []
    for skus in (["A1"], ["B2"], ["A1", "B2"]):
        token, _cart_read = _cart(client, skus)
        with _sent(container) as sent:
            order = ok(checkout(client, token), 201)
        assert sorted(line["sku"] for line in order["lines"]) == skus
        [claim] = _naming(sent, "UPDATE stock_holds", "kind=")
        texts.append(claim)
    assert texts[0] == texts[1] != texts[2]
    assert "ANY" not in texts[2]


def test_more_values_than_listed_go_as_one_array(container, backend):
    """Shelf prices and availability of ``LISTED_MAX + 4`` SKUs: answered in full, as one
    array parameter on PostgreSQL."""
    make_orders_network(container)
    codes = [f"Z{i:02d}" for i in range(LISTED_MAX + 4)]
    with container.uow() as uow:
        catalog.create_product(
            uow,
            ProductCreate(
                code="PZ",
                name="Many",
                skus=[SkuCreate(code=c, name=c, price=Decimal("3.00")) for c in codes],
            ),
        )
    receive(container, codes[-1], "DC1", 5)
    with _sent(container) as texts, container.read_uow() as uow:
        _currency, prices = pricing.shelf_prices(uow, "WEB", codes)
        stock = inventory.availability(uow, codes)
    assert prices == dict.fromkeys(codes, Decimal("3.00"))
    assert {a.sku: a.available for a in stock if a.available} == {codes[-1]: 5}
    reads = _naming(texts, "price_list_entries", "FROM skus") + _naming(texts, "FROM stock_levels")
    assert len(reads) == 2
    assert all("ANY" in t for t in reads) == (backend == "postgres"), reads
    assert listed_values("skus", codes) == {"skus": codes}


def test_no_statement_of_a_shoppers_flow_is_rendered_again_on_postgresql(
    container, client, backend
):
    """An expanding ``IN`` makes SQLAlchemy render its statement again on every call (its
    post-compile step); on PostgreSQL no statement of a cart and its checkout needs it."""
    if backend != "postgres":
        pytest.skip("SQLite binds a batch's values as an expanding IN (no arrays)")
    make_orders_network(container)
    for sku in PRICES:
        receive(container, sku, "DC1", 10)
    with rendered_again() as rendered:
        token, _cart_read = _cart(client, ["A1", "B2"])
        ok(client.get(f"/api/v1/carts/{token}/fulfilment-options"))
        ok(checkout(client, token), 201)
    assert rendered == []
