"""Each model on a small synthetic history with a known answer, read back from the database
(SQLite and PostgreSQL) through ``repository.load_transactions``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
from sqlalchemy import insert

from omniretail.catalog.models import Channel, Product, Sku
from omniretail.customers.models import Customer
from omniretail.intelligence import recommending, repository, service
from omniretail.orders.models import Order, OrderLine

START = date(2010, 1, 4)  # a Monday


def _fill(container, sales):
    """``sales``: (order number, customer number or None, day, sku, quantity, price, kind)."""
    now = datetime(2010, 1, 1, tzinfo=UTC)
    skus = sorted({s[3] for s in sales})
    customers = sorted({s[1] for s in sales if s[1] is not None})
    with container.engine.begin() as conn:
        conn.execute(
            insert(Channel),
            [
                {
                    "code": "WEB",
                    "name": "Web",
                    "kind": "web",
                    "reservation_ttl_seconds": 900,
                    "atp_buffer": 0,
                }
            ],
        )
        conn.execute(
            insert(Product),
            [{"code": s, "name": s, "attributes": {}, "created_at": now} for s in skus],
        )
        conn.execute(
            insert(Sku),
            [
                {
                    "code": s,
                    "product_code": s,
                    "name": s,
                    "attributes": {},
                    "active": True,
                    "created_at": now,
                }
                for s in skus
            ],
        )
        ids = {}
        for number in customers:
            ids[number] = conn.execute(
                insert(Customer)
                .values(customer_number=number, created_at=now)
                .returning(Customer.id)
            ).scalar_one()
        orders: dict[str, int] = {}
        for line_no, (number, customer, day, sku, quantity, price, kind) in enumerate(sales):
            if number not in orders:
                placed = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
                orders[number] = conn.execute(
                    insert(Order)
                    .values(
                        number=number,
                        kind=kind,
                        status="completed",
                        channel_code="WEB",
                        customer_id=ids.get(customer),
                        total=0,
                        placed_at=placed,
                    )
                    .returning(Order.id)
                ).scalar_one()
            conn.execute(
                insert(OrderLine).values(
                    order_id=orders[number],
                    line_no=line_no,
                    sku_code=sku,
                    quantity=quantity,
                    unit_price=price,
                )
            )


def test_a_product_selling_ten_a_week_forecasts_about_ten(container):
    sales = [(f"S{w}", 1, START + timedelta(weeks=w), "10001", 10, 1.0, "sale") for w in range(30)]
    # a bulk order cancelled at once must not move the forecast
    sales += [
        ("S99", 2, START + timedelta(weeks=29), "10001", 5000, 1.0, "sale"),
        ("C99", 2, START + timedelta(weeks=29, days=1), "10001", -5000, 1.0, "cancellation"),
    ]
    # a discontinued line that stopped selling long ago
    sales += [(f"D{w}", 1, START + timedelta(weeks=w), "10002", 10, 1.0, "sale") for w in range(5)]
    _fill(container, sales)
    tx = repository.load_transactions(container.engine)
    result = service.forecast_demand(tx, START + timedelta(weeks=30), 4).frame()
    steady = result.filter(pl.col("sku") == "10001")["quantity"].to_list()
    assert steady == [10.0, 10.0, 10.0, 10.0]
    assert result.filter(pl.col("sku") == "10002")["quantity"].to_list() == [0.0] * 4


def test_a_customer_who_bought_a_with_b_gets_b(container):
    day = START
    sales = []
    for n in range(1, 6):  # five customers buy A and B together
        sales += [
            (f"AB{n}", n, day, "20001", 1, 2.0, "sale"),
            (f"AB{n}", n, day, "20002", 1, 2.0, "sale"),
        ]
    sales += [("X1", 6, day, "20003", 1, 2.0, "sale"), ("A7", 7, day, "20001", 1, 2.0, "sale")]
    _fill(container, sales)
    tx = repository.load_transactions(container.engine)
    lists = service.recommend_products(tx, day + timedelta(days=1), 2)
    with container.read_uow() as uow:
        ids = dict(
            zip(
                *repository.list_customers(uow.session)
                .select("customer_number", "customer_id")
                .to_dict()
                .values(),
                strict=True,
            )
        )
    new_for_7 = lists.new.filter(pl.col("customer_id") == ids[7]).sort("rank")["sku"].to_list()
    assert new_for_7[0] == "20002"
    pairs = recommending.bought_together(tx, day + timedelta(days=1))
    assert (
        pairs.filter((pl.col("sku") == "20001") & (pl.col("rank") == 1))["other_sku"].item()
        == "20002"
    )
    with container.uow() as uow:
        service.store_recommendations(uow, lists)
    with container.read_uow() as uow:
        read = service.get_customer_scores(uow, ids[7], 2)
    assert read.recommendations[0].sku == "20001"  # buys again first


def test_clv_and_segments_rank_the_loyal_customer_first(container):
    sales = []
    for w in range(20):  # customer 1 buys every week, customer 2 once at the start
        sales.append((f"L{w}", 1, START + timedelta(weeks=w), "30001", 10, 3.0, "sale"))
    sales.append(("O1", 2, START, "30001", 1, 3.0, "sale"))
    for c in range(3, 13):  # background customers
        sales += [
            (f"B{c}{w}", c, START + timedelta(weeks=w * 3 + c % 3), "30002", 2, 1.0, "sale")
            for w in range(4)
        ]
    _fill(container, sales)
    tx = repository.load_transactions(container.engine)
    with container.read_uow() as uow:
        customers = repository.list_customers(uow.session)
    scores = service.score_customers(tx, customers, START + timedelta(weeks=20), 12)
    loyal = scores.filter(pl.col("customer_number") == 1).row(0, named=True)
    once = scores.filter(pl.col("customer_number") == 2).row(0, named=True)
    assert loyal["expected_revenue"] > once["expected_revenue"]
    assert loyal["p_alive"] > once["p_alive"]
    assert loyal["segment"] == "champions"
    assert once["segment"] in {"hibernating", "at_risk", "about_to_sleep"}
    with container.uow() as uow:
        assert service.store_customer_scores(uow, scores, START + timedelta(weeks=20), 12) == 12
