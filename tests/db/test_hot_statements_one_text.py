"""The hot path's statements that take a list of values (a cart's SKUs for its prices and
its stock, the holds a checkout claims) send one text on PostgreSQL however many values
there are (``= ANY(array)``): an expanded ``IN`` renders the statement again on every call
and gives the server one statement to prepare and plan per list length. Each test runs on
SQLite and PostgreSQL; the answers are checked on both."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from omniretail.bootstrap import Container
from tests.orders.network import (
    PRICES,
    add,
    checkout,
    make_orders_network,
    new_cart,
    ok,
    receive,
)


@contextmanager
def _sent(container: Container) -> Iterator[list[str]]:
    texts: list[str] = []

    def remember(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        texts.append(" ".join(sql.split()))

    engines = {container.engine, container.read_engine, container.relaxed_engine} - {None}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", remember)
    try:
        yield texts
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", remember)


def _naming(texts: list[str], *words: str) -> set[str]:
    return {t for t in texts if all(w in t for w in words)}


def _cart(container: Container, client: Any, skus: list[str]) -> tuple[str, dict[str, Any]]:
    token = new_cart(client)
    cart: dict[str, Any] = {}
    for sku in skus:
        cart = ok(add(client, token, sku, 1))
    return token, cart


def test_a_carts_prices_and_stock_are_read_by_one_text_per_statement(container, client, backend):
    make_orders_network(container)
    for sku in PRICES:
        receive(container, sku, "DC1", 10)
    with _sent(container) as texts:
        _token, one = _cart(container, client, ["A1"])
        _token, three = _cart(container, client, ["A1", "B2", "C3"])
    assert [line["sku"] for line in one["lines"]] == ["A1"]
    assert {line["sku"]: line["unit_price"] for line in three["lines"]} == {
        sku: f"{price:.2f}" for sku, price in PRICES.items()
    }
    prices = _naming(texts, "price_list_entries", "FROM skus")
    stock = _naming(texts, "FROM stock_levels", "ORDER BY stock_levels.sku_code")
    assert prices and stock
    if backend == "postgres":
        assert len(prices) == 1, prices
        assert len(stock) == 1, stock
        assert all("ANY" in t for t in prices | stock)
    else:  # SQLite has no arrays: an IN list rendered for the values at hand
        assert len(prices) > 1


def test_a_checkout_claims_its_holds_by_one_text(container, client, backend):
    make_orders_network(container)
    for sku in PRICES:
        receive(container, sku, "DC1", 10)
    with _sent(container) as texts:
        for skus in (["A1"], ["A1", "B2"]):
            token, _cart_read = _cart(container, client, skus)
            order = ok(checkout(client, token), 201)
            assert sorted(line["sku"] for line in order["lines"]) == skus
    claims = _naming(texts, "UPDATE stock_holds", "kind=")
    assert claims
    if backend == "postgres":
        assert len(claims) == 1, claims
