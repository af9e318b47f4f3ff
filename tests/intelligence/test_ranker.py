"""Candidate generation, the slot policy and the LightGBM ranker of recommending_ranker, on
small synthetic order lines (no database)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from omniretail.intelligence import recommending_ranker as rr
from omniretail.intelligence.transactions import conform

START = date(2010, 1, 4)
SMALL = rr.RankerConfig(similar_candidates=3, popular_candidates=2, n_estimators=20)


def _tx(sales: list[tuple[str, int, date, str]]) -> pl.DataFrame:
    """Order lines (order_number, customer, day, sku) in the shape product_sales reads."""
    n = len(sales)
    frame = pl.DataFrame(
        {
            "line_id": list(range(1, n + 1)),
            "order_number": [o for o, _, _, _ in sales],
            "kind": ["sale"] * n,
            "channel": ["WEB"] * n,
            "customer_id": [c for _, c, _, _ in sales],
            "customer_number": [c for _, c, _, _ in sales],
            "country": ["United Kingdom"] * n,
            "placed_at": [datetime(d.year, d.month, d.day, 10) for _, _, d, _ in sales],
            "sku": [s for _, _, _, s in sales],
            "charge_code": [None] * n,
            "description": [s for _, _, _, s in sales],
            "quantity": [1] * n,
            "unit_price": [2.0] * n,
            "cancels_line_id": [None] * n,
        }
    )
    return conform(frame)


def _history() -> pl.DataFrame:
    sales = []
    for n in range(1, 6):  # five customers buy A and B together, C now and then
        day = START + timedelta(days=n)
        sales += [(f"AB{n}", n, day, "A"), (f"AB{n}", n, day, "B")]
        sales.append((f"C{n}", n, day + timedelta(weeks=2), "C"))
    sales.append(("A7", 7, START + timedelta(weeks=3), "A"))  # 7 bought A alone
    for w in range(8):  # 8 buys D every week
        sales.append((f"D{w}", 8, START + timedelta(weeks=w), "D"))
    sales.append(("E8", 8, START, "E"))
    return _tx(sales)


def test_candidates_hold_own_products_and_the_best_new_ones_with_their_features():
    tx = _history()
    frame = rr.candidates(tx, START + timedelta(weeks=8), SMALL)

    seven = frame.filter(pl.col("customer_id") == 7)
    assert seven.filter("own")["sku"].to_list() == ["A"]
    new = seven.filter(~pl.col("own"))
    assert "B" in new["sku"].to_list()  # bought with A by five others
    b = new.filter(pl.col("sku") == "B").row(0, named=True)
    c_rows = new.filter(pl.col("sku") == "C")
    assert c_rows.height == 0 or b["similar"] >= c_rows["similar"].item()
    assert frame.null_count().sum_horizontal().item() == 0
    eight = frame.filter((pl.col("customer_id") == 8) & pl.col("own")).sort("sku")
    assert eight["sku"].to_list() == ["D", "E"]
    assert eight["own_orders"].to_list() == [8.0, 1.0]
    assert eight["own_days_since"].to_list() == [7.0, 56.0]
    assert eight["cust_orders"].to_list() == [9.0, 9.0]
    # nothing after the cutoff leaks in
    early = rr.candidates(tx, START + timedelta(weeks=1), SMALL)
    assert early.filter(pl.col("customer_id") == 7).height == 0


def _scored() -> pl.DataFrame:
    """Customer 1: 9 own products (orders 5) and 3 new; customer 2: 1 own (1 order), 5 new."""
    rows = [(1, f"own{i}", True, 10.0 - i, 5) for i in range(9)]
    rows += [(1, f"new{i}", False, 3.0 - i, 5) for i in range(3)]
    rows += [(2, "mine", True, 1.0, 1)] + [(2, f"new{i}", False, 5.0 - i, 1) for i in range(5)]
    return pl.DataFrame(
        rows, schema=["customer_id", "sku", "own", "score", "cust_orders"], orient="row"
    )


def test_slot_policy_keeps_places_for_new_products_and_more_for_short_histories():
    lists = rr.interleave(_scored(), 5, 1, (3, 2))

    one = lists.filter(pl.col("customer_id") == 1).sort("rank")
    assert one["sku"].to_list() == ["own0", "own1", "own2", "own3", "new0"]
    two = lists.filter(pl.col("customer_id") == 2).sort("rank")
    # one order (< 3): 2 new places, but only one own product, so the new ones fill the rest
    assert two["sku"].to_list() == ["mine", "new0", "new1", "new2", "new3"]
    assert two["rank"].to_list() == [1, 2, 3, 4, 5]


def test_slot_policy_fills_with_own_products_when_new_ones_run_out():
    lists = rr.interleave(_scored().filter(pl.col("customer_id") == 1), 12, 5)

    skus = lists.sort("rank")["sku"].to_list()
    assert skus[:9] == [f"own{i}" for i in range(9)]  # only 3 new exist: 9 own places
    assert skus[9:] == ["new0", "new1", "new2"]
    assert rr.interleave(_scored(), 4, 0).filter(pl.col("customer_id") == 1)["sku"].to_list() == [
        "own0",
        "own1",
        "own2",
        "own3",
    ]


@pytest.mark.parametrize(("slots", "k", "expected"), [(1, 10, 1), (4, 10, 4), (1, 2, 0), (4, 2, 1)])
def test_slots_are_counted_out_of_ten_and_scaled_to_k(slots, k, expected):
    assert rr.scaled_slots(slots, k) == expected


def test_ranker_learns_before_the_cutoff_and_ranks_the_regular_purchase_first():
    sales = []
    for c in range(1, 41):  # 40 customers: R every week, O once at the start
        sales.append((f"O{c}", c, START, "O"))
        for w in range(16):
            sales.append((f"R{c}-{w}", c, START + timedelta(weeks=w, days=c % 7), "R"))
            if c % 2 == 0 and w % 4 == 0:
                sales.append((f"R{c}-{w}", c, START + timedelta(weeks=w, days=c % 7), "S"))
    tx = _tx(sales)
    as_of = START + timedelta(weeks=16)
    config = rr.RankerConfig(
        n_estimators=20, min_child_samples=5, similar_candidates=2, popular_candidates=2
    )

    assert rr.label_weeks(tx, as_of, config) == pytest.approx(8.0, abs=0.5)
    rankers = rr.fit(tx, as_of, config)
    assert rankers.own is not None
    one, new_only = rr.recommend(tx, as_of, 2, config)
    odd = one.filter(pl.col("customer_id") == 1).sort("rank")
    assert odd["sku"][0] == "R"
    assert new_only.filter(pl.col("customer_id") == 1)["sku"].to_list() == ["S"]
    # weight 0: the rule alone orders own products, whatever the ranker says
    blended = rr.score(rr.candidates(tx, as_of, config), rankers, (0.0, 0.5))
    mine = blended.filter(pl.col("own") & (pl.col("customer_id") == 2))
    assert mine.sort("score")["sku"].to_list() == mine.sort("rule_own")["sku"].to_list()
    assert mine["score"].max() == pytest.approx(1.0)  # a share of the customer's candidates
    # a history shorter than the shortest learning window: no ranker, the rules order
    assert rr.fit(tx, START + timedelta(weeks=4), config).own is None


def test_the_default_list_keeps_one_place_in_ten_for_a_new_product_and_four_for_a_newcomer():
    from omniretail.intelligence import service

    own = [f"P{i:02d}" for i in range(12)]
    sales = []
    for w in range(4):  # customer 1: four orders of the same twelve products
        sales += [(f"R{w}", 1, START + timedelta(weeks=w), sku) for sku in own]
    sales += [("N1", 2, START + timedelta(weeks=3), sku) for sku in own]  # one order
    for c in range(3, 9):  # others buy the twelve and five more products
        sales += [(f"O{c}", c, START, sku) for sku in [*own, "X1", "X2", "X3", "X4", "X5"]]
    lists = service.recommend_products(_tx(sales), START + timedelta(weeks=4), 10).next

    regular = lists.filter(pl.col("customer_id") == 1).sort("rank")["sku"].to_list()
    newcomer = lists.filter(pl.col("customer_id") == 2).sort("rank")["sku"].to_list()
    assert len(regular) == len(newcomer) == 10
    assert [s in own for s in regular] == [True] * 9 + [False]
    assert [s in own for s in newcomer] == [True] * 6 + [False] * 4
    zero = service.recommend_products(_tx(sales), START + timedelta(weeks=4), 10, new_slots=0)
    assert all(s in own for s in zero.next.filter(pl.col("customer_id") == 2)["sku"])
