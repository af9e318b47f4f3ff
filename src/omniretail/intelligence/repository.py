"""Queries of the intelligence domain: the order history it learns from (a read-only analytic
projection of the orders and customers tables) and its own result tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, cast

import polars as pl
from sqlalchemy import (
    Boolean,
    Engine,
    Row,
    Table,
    bindparam,
    case,
    delete,
    insert,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy import cast as cast_
from sqlalchemy.orm import Session

from omniretail.catalog.models import ChannelLocation, Location, Sku
from omniretail.customers.models import Customer
from omniretail.db.sql import matches, rowcount, statement
from omniretail.intelligence.models import (
    CustomerScore,
    PopularProduct,
    ProductAssociation,
    ProductForecast,
    Recommendation,
)
from omniretail.intelligence.transactions import TRANSACTION_SCHEMA, conform
from omniretail.orders.models import Order, OrderLine

BATCH = 5000
ERASED = "erased"  # customers.status of an erased person


def load_transactions(engine: Engine) -> pl.DataFrame:
    """The canonical transactions frame (``transactions.TRANSACTION_SCHEMA`` plus ``day``):
    every order line with its order and customer, in one query."""
    orders = Order.__table__.c
    lines = OrderLine.__table__.c
    customers = Customer.__table__.c
    query = (
        select(
            lines.id.label("line_id"),
            orders.number.label("order_number"),
            orders.kind,
            orders.channel_code.label("channel"),
            # An erased person's orders count as guest orders: no profile is built on them.
            case((customers.status == ERASED, None), else_=orders.customer_id).label("customer_id"),
            customers.customer_number,
            customers.country.label("customer_country"),
            orders.country.label("order_country"),
            orders.placed_at,
            lines.sku_code.label("sku"),
            lines.charge_code,
            lines.description,
            lines.quantity,
            lines.unit_price,
            lines.cancels_line_id,
        )
        .select_from(OrderLine.__table__)
        .join(Order.__table__, orders.id == lines.order_id)
        .outerjoin(Customer.__table__, customers.id == orders.customer_id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    names = [
        "line_id",
        "order_number",
        "kind",
        "channel",
        "customer_id",
        "customer_number",
        "customer_country",
        "order_country",
        "placed_at",
        "sku",
        "charge_code",
        "description",
        "quantity",
        "unit_price",
        "cancels_line_id",
    ]
    schema: dict[str, Any] = {
        **TRANSACTION_SCHEMA,
        "customer_country": pl.String,
        "order_country": pl.String,
        "unit_price": pl.Float64,
    }
    schema.pop("country")
    frame = pl.DataFrame(
        [tuple(row) for row in rows] if rows else None,
        schema={name: schema[name] for name in names},
        orient="row",
        strict=False,
    )
    frame = frame.with_columns(
        country=pl.coalesce("customer_country", "order_country"),
    ).drop("customer_country", "order_country")
    return conform(frame)


def list_customers(session: Session) -> pl.DataFrame:
    """Every known customer (not erased): ``customer_id, customer_number``."""
    rows = session.execute(
        select(Customer.id, Customer.customer_number)
        .where(Customer.status != ERASED)
        .order_by(Customer.id)
    ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows] if rows else None,
        schema={"customer_id": pl.Int64, "customer_number": pl.Int64},
        orient="row",
    )


def existing_skus(session: Session) -> set[str]:
    return set(session.scalars(select(Sku.code)))


def serving_locations(session: Session, channel: str) -> list[str]:
    """Where a channel's demand is stocked: its warehouses, else all its locations, else every
    active warehouse."""
    linked = session.execute(
        select(Location.code, Location.kind)
        .join(ChannelLocation, ChannelLocation.location_code == Location.code)
        .where(ChannelLocation.channel_code == channel, Location.active)
        .order_by(Location.code)
    ).all()
    warehouses = [code for code, kind in linked if kind == "warehouse"]
    if warehouses or linked:
        return warehouses or [code for code, _ in linked]
    return list(
        session.scalars(
            select(Location.code)
            .where(Location.kind == "warehouse", Location.active)
            .order_by(Location.code)
        )
    )


def _replace(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    session.execute(delete(table))
    for offset in range(0, len(rows), BATCH):
        session.execute(insert(table), list(rows[offset : offset + BATCH]))


def delete_customer_results(session: Session, customer_ids: Sequence[int]) -> int:
    """Removes the scores and lists of these customers; returns the score rows removed."""
    ids = list(customer_ids)
    session.execute(delete(Recommendation).where(Recommendation.customer_id.in_(ids)))
    result = session.execute(delete(CustomerScore).where(CustomerScore.customer_id.in_(ids)))
    return rowcount(result)


def replace_customer_scores(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    _replace(session, CustomerScore, rows)


def upsert_customer_scores(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Replaces the score rows of these customers only (the others keep theirs)."""
    session.execute(
        delete(CustomerScore).where(CustomerScore.customer_id.in_([r["customer_id"] for r in rows]))
    )
    if rows:
        session.execute(insert(CustomerScore), list(rows))


def replace_forecasts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    _replace(session, ProductForecast, rows)


def replace_recommendations(
    session: Session, rows: Sequence[dict[str, Any]], popular: Sequence[dict[str, Any]]
) -> None:
    _replace(session, Recommendation, rows)
    _replace(session, PopularProduct, popular)


def replace_associations(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    _replace(session, ProductAssociation, rows)


def get_customer_score(session: Session, customer_id: int) -> CustomerScore | None:
    return session.get(CustomerScore, customer_id)


SCORE_COLUMNS = (
    "segment",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "expected_revenue",
    "p_alive",
    "horizon_weeks",
    "as_of",
    "computed_at",
)


def customer_block(
    session: Session, customer_ids: Sequence[int], k: int, *, personal: bool
) -> list[Row[Any]]:
    """The scores of these profiles, their top-``k`` recommendations (only when ``personal``)
    and the top-``k`` popular products, in one statement (the customer 360). Each row has a
    ``part``: 0 a score (the ``SCORE_COLUMNS``), 1 a recommendation, 2 a popular product
    (``customer_id`` NULL); rows come by part, then profile, then rank. Ranks run 1..n, so
    ``rank <= k`` is the top k."""

    def build(pg: bool) -> Any:
        scores = cast(Table, CustomerScore.__table__).c
        recs = cast(Table, Recommendation.__table__).c
        popular = cast(Table, PopularProduct.__table__).c
        ids = matches(scores.customer_id, "ids", pg)
        rec_ids = matches(recs.customer_id, "ids", pg)
        no_score = [cast_(null(), scores[name].type) for name in SCORE_COLUMNS]
        k_: Any = bindparam("k")
        part_scores = select(
            literal(0).label("part"),
            scores.customer_id,
            cast_(null(), recs.rank.type).label("rank"),
            cast_(null(), recs.sku_code.type).label("sku_code"),
            cast_(null(), recs.score.type).label("score"),
            *(scores[name] for name in SCORE_COLUMNS),
        ).where(ids)
        part_recs = select(
            literal(1), recs.customer_id, recs.rank, recs.sku_code, recs.score, *no_score
        ).where(
            rec_ids,
            recs.kind == "next",
            recs.rank <= k_,
            bindparam("personal", type_=Boolean()),
        )
        part_popular = select(
            literal(2),
            cast_(null(), recs.customer_id.type),
            popular.rank,
            popular.sku_code,
            popular.score,
            *no_score,
        ).where(popular.rank <= k_)
        parts = union_all(part_scores, part_recs, part_popular).subquery()
        return select(parts).order_by(parts.c.part, parts.c.customer_id, parts.c.rank)

    stmt = statement(session, "intelligence.customer_block", build)
    return list(session.execute(stmt, {"ids": list(customer_ids), "k": k, "personal": personal}))


class ForecastRow(NamedTuple):
    sku_code: str
    period_start: date
    quantity: float
    model: str
    computed_at: datetime


class AssociationRow(NamedTuple):
    sku_code: str
    rank: int
    other_sku_code: str
    score: float


def list_forecasts(session: Session, skus: Sequence[str]) -> list[ForecastRow]:
    """The stored forecast periods of these SKUs, by SKU and period."""
    return [
        ForecastRow(*row)
        for row in session.execute(
            select(
                ProductForecast.sku_code,
                ProductForecast.period_start,
                ProductForecast.quantity,
                ProductForecast.model,
                ProductForecast.computed_at,
            )
            .where(ProductForecast.sku_code.in_(list(skus)))
            .order_by(ProductForecast.sku_code, ProductForecast.period_start)
        )
    ]


def all_forecasts(session: Session) -> pl.DataFrame:
    rows = session.execute(
        select(ProductForecast.sku_code, ProductForecast.period_start, ProductForecast.quantity)
    ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows] if rows else None,
        schema={"sku": pl.String, "period_start": pl.Date, "quantity": pl.Float64},
        orient="row",
    )


def list_associations_of(session: Session, skus: Sequence[str], k: int) -> list[AssociationRow]:
    """The ``k`` best pairs of each SKU, by SKU and rank."""
    return [
        AssociationRow(*row)
        for row in session.execute(
            select(
                ProductAssociation.sku_code,
                ProductAssociation.rank,
                ProductAssociation.other_sku_code,
                ProductAssociation.score,
            )
            .where(ProductAssociation.sku_code.in_(list(skus)), ProductAssociation.rank <= k)
            .order_by(ProductAssociation.sku_code, ProductAssociation.rank)
        )
    ]


def list_new_for_you(session: Session, customer_ids: Sequence[int], k: int) -> list[Row[Any]]:
    """``customer_id, rank, sku_code, score`` of the stored "new for you" lists (kind
    ``new``: products the customer has not bought) of these profiles, top ``k`` each."""
    return list(
        session.execute(
            select(
                Recommendation.customer_id,
                Recommendation.rank,
                Recommendation.sku_code,
                Recommendation.score,
            )
            .where(
                Recommendation.customer_id.in_(list(customer_ids)),
                Recommendation.kind == "new",
                Recommendation.rank <= k,
            )
            .order_by(Recommendation.customer_id, Recommendation.rank)
        )
    )


def latest_computed_at(session: Session) -> datetime | None:
    return session.scalar(select(CustomerScore.computed_at).limit(1))
