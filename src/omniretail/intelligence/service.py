"""Intelligence use cases: fit the models on the platform's history and store the results.

Fitting is pure (frames in, frames out); ``store_*`` functions write a snapshot inside the
caller's unit of work and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Engine

from omniretail.db.uow import UnitOfWork
from omniretail.intelligence import lifetime, recommending, repository, segments
from omniretail.intelligence.errors import UnknownCustomer
from omniretail.intelligence.forecasting import Forecast, ForecastConfig, demand_history, forecast
from omniretail.intelligence.recommending import RecommendConfig
from omniretail.intelligence.replenishment import ReplenishmentConfig, policies
from omniretail.intelligence.schemas import (
    CustomerScoresRead,
    ForecastPeriod,
    ProductIntelligenceRead,
    RecommendedProduct,
    ReorderPolicy,
)
from omniretail.inventory.policies_bulk import PolicyRow, set_policies
from omniretail.kernel.events import DomainEvent

FORECAST_MODEL = "ses+calendar"
NEXT = RecommendConfig(method="buy_again")
NEW = RecommendConfig(method="blend", exclude_purchased=True)


def load_history(engine: Engine) -> pl.DataFrame:
    return repository.load_transactions(engine)


def forecast_demand(tx: pl.DataFrame, start: date, weeks: int) -> Forecast:
    """Weekly forecast from ``start`` using only history before it."""
    return forecast(demand_history(tx, start), weeks, ForecastConfig())


def score_customers(
    tx: pl.DataFrame, customers: pl.DataFrame, start: date, weeks: int
) -> pl.DataFrame:
    """One row per known customer: ``customer_id, customer_number, expected_revenue, p_alive``
    plus RFM scores and segment (customers without purchases: zero value, ``no_purchases``)."""
    history = tx.filter(pl.col("day") < start)
    predicted = lifetime.predict_boosted(history, start, weeks)
    if predicted is None:
        summary = lifetime.customer_summary(history, start)
        predicted = (
            lifetime.predict(lifetime.fit(summary), summary, weeks)
            if summary.height >= 5
            else summary.select("customer_id", "customer_number").with_columns(
                expected_purchases=pl.lit(0.0), expected_revenue=pl.lit(0.0), p_alive=pl.lit(0.5)
            )
        )
    rfm = segments.rfm(history, start)
    return (
        customers.join(predicted.drop("customer_number"), on="customer_id", how="left")
        .join(rfm, on="customer_id", how="left")
        .with_columns(
            pl.col("expected_revenue").fill_null(0.0).clip(lower_bound=0.0),
            pl.col("p_alive").fill_null(0.0).clip(0.0, 1.0),
            pl.col("segment").fill_null(segments.NO_PURCHASE),
            pl.col("frequency").fill_null(0),
            pl.col("monetary").fill_null(0.0),
        )
    )


@dataclass
class RecommendationLists:
    next: pl.DataFrame  # customer_id, rank, sku, score
    new: pl.DataFrame
    popular: pl.DataFrame  # rank, sku, score


def recommend_products(tx: pl.DataFrame, as_of: date, k: int) -> RecommendationLists:
    history = tx.filter(pl.col("day") < as_of)
    next_lists, popular = recommending.recommend(history, as_of, k, NEXT)
    new_lists, _ = recommending.recommend(history, as_of, k, NEW)
    return RecommendationLists(next_lists, new_lists, popular)


def lists_for_everyone(lists: RecommendationLists, customers: pl.DataFrame) -> pl.DataFrame:
    """``customer_id, customer_number, rank, sku``: the personal list, or the popular one for
    customers without history."""
    known = customers.join(lists.next, on="customer_id", how="inner")
    unknown = customers.join(
        lists.next.select("customer_id").unique(), on="customer_id", how="anti"
    )
    fallback = unknown.join(lists.popular.select("rank", "sku"), how="cross")
    return pl.concat(
        [
            known.select("customer_id", "customer_number", "rank", "sku"),
            fallback.select("customer_id", "customer_number", "rank", "sku"),
        ]
    ).sort("customer_id", "rank")


# --- storing results ---------------------------------------------------------------------


def store_forecast(uow: UnitOfWork, result: Forecast) -> int:
    frame = result.frame()
    known = repository.existing_skus(uow.session)
    frame = frame.filter(pl.col("sku").is_in(list(known)))
    rows = [
        {**row, "sku_code": row.pop("sku"), "model": FORECAST_MODEL, "computed_at": uow.now}
        for row in frame.to_dicts()
    ]
    repository.replace_forecasts(uow.session, rows)
    uow.record(DomainEvent("intelligence.forecast_refreshed", "forecasts", {"rows": len(rows)}))
    return len(rows)


def store_customer_scores(uow: UnitOfWork, scores: pl.DataFrame, as_of: date, weeks: int) -> int:
    columns = [
        "customer_id",
        "segment",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "expected_revenue",
        "p_alive",
    ]
    rows = [
        {**row, "horizon_weeks": weeks, "as_of": as_of, "computed_at": uow.now}
        for row in scores.select(columns).to_dicts()
    ]
    repository.replace_customer_scores(uow.session, rows)
    uow.record(DomainEvent("intelligence.scores_refreshed", "customer_scores", {"rows": len(rows)}))
    return len(rows)


def store_recommendations(uow: UnitOfWork, lists: RecommendationLists) -> int:
    known = repository.existing_skus(uow.session)

    def rows(frame: pl.DataFrame, kind: str) -> list[dict[str, Any]]:
        kept = frame.filter(pl.col("sku").is_in(list(known)))
        return [
            {
                "customer_id": r["customer_id"],
                "kind": kind,
                "rank": r["rank"],
                "sku_code": r["sku"],
                "score": float(r["score"]),
                "computed_at": uow.now,
            }
            for r in kept.to_dicts()
        ]

    popular = [
        {
            "rank": r["rank"],
            "sku_code": r["sku"],
            "score": float(r["score"]),
            "computed_at": uow.now,
        }
        for r in lists.popular.filter(pl.col("sku").is_in(list(known))).to_dicts()
    ]
    personal = rows(lists.next, "next") + rows(lists.new, "new")
    repository.replace_recommendations(uow.session, personal, popular)
    return len(personal)


def store_associations(uow: UnitOfWork, pairs: pl.DataFrame) -> int:
    known = list(repository.existing_skus(uow.session))
    kept = pairs.filter(pl.col("sku").is_in(known) & pl.col("other_sku").is_in(known))
    rows = [
        {
            "sku_code": r["sku"],
            "rank": r["rank"],
            "other_sku_code": r["other_sku"],
            "score": float(r["score"]),
            "computed_at": uow.now,
        }
        for r in kept.to_dicts()
    ]
    repository.replace_associations(uow.session, rows)
    return len(rows)


def apply_replenishment_policies(
    uow: UnitOfWork,
    result: Forecast,
    config: ReplenishmentConfig,
    *,
    channel: str = "WEB",
    actor: str = "system:intelligence",
) -> pl.DataFrame:
    """Writes reorder points and order-up-to levels into inventory; returns the policies."""
    locations = repository.serving_locations(uow.session, channel)
    table = policies(result, locations, config)
    known = repository.existing_skus(uow.session)
    table = table.filter(pl.col("sku").is_in(list(known)))
    set_policies(
        uow,
        [
            PolicyRow(r["sku"], r["location"], r["reorder_point"], r["order_up_to"])
            for r in table.to_dicts()
        ],
        actor=actor,
    )
    return table


def stock_positions(uow: UnitOfWork) -> pl.DataFrame:
    """``sku, location, on_hand, position, reorder_point, order_up_to`` of every stock record."""
    from omniretail.inventory import service as inventory

    levels = inventory.list_stock_levels(uow, limit=1_000_000)
    return pl.DataFrame(
        [
            (
                s.sku,
                s.location,
                s.on_hand,
                s.on_hand - s.reserved - s.allocated + s.in_transit,
                s.reorder_point,
                s.order_up_to,
            )
            for s in levels
        ]
        or None,
        schema={
            "sku": pl.String,
            "location": pl.String,
            "on_hand": pl.Int64,
            "position": pl.Int64,
            "reorder_point": pl.Int64,
            "order_up_to": pl.Int64,
        },
        orient="row",
    )


# --- reads -------------------------------------------------------------------------------


def personalisation_allowed(uow: UnitOfWork, customer_id: int) -> bool:
    """The consent gate for lists served to a person: a customer who withdrew consent to
    personalisation gets the popular list. Imported customers never recorded a choice, and
    recommendations on a shop's own purchase history are shown to them."""
    return not repository.personalisation_withdrawn(uow.session, customer_id)


def get_customer_scores(uow: UnitOfWork, customer_id: int, k: int = 10) -> CustomerScoresRead:
    score = repository.get_customer_score(uow.session, customer_id)
    personalised = personalisation_allowed(uow, customer_id)
    rows = (
        repository.list_recommendations(uow.session, customer_id, "next", k) if personalised else []
    )
    if not rows:
        rows = repository.list_popular(uow.session, k)
    recommendations = [RecommendedProduct(rank=r.rank, sku=r.sku_code, score=r.score) for r in rows]
    if score is None:
        if repository.customer_exists(uow.session, customer_id) is False:
            raise UnknownCustomer(f"no customer {customer_id}", field="customer_id")
        return CustomerScoresRead(
            customer_id=customer_id,
            segment="not_scored",
            recency_days=None,
            frequency=0,
            monetary=0.0,
            r_score=None,
            f_score=None,
            m_score=None,
            expected_revenue=None,
            p_alive=None,
            horizon_weeks=None,
            as_of=None,
            computed_at=None,
            personalised=personalised,
            recommendations=recommendations,
        )
    return CustomerScoresRead(
        customer_id=customer_id,
        segment=score.segment,
        recency_days=score.recency_days,
        frequency=score.frequency,
        monetary=score.monetary,
        r_score=score.r_score,
        f_score=score.f_score,
        m_score=score.m_score,
        expected_revenue=score.expected_revenue,
        p_alive=score.p_alive,
        horizon_weeks=score.horizon_weeks,
        as_of=score.as_of,
        computed_at=score.computed_at,
        personalised=personalised,
        recommendations=recommendations,
    )


def get_product_intelligence(uow: UnitOfWork, sku: str) -> ProductIntelligenceRead:
    from omniretail.catalog import service as catalog
    from omniretail.inventory import service as inventory

    catalog.get_sku(uow, sku)  # raises the catalog's not-found problem
    periods = repository.list_forecast(uow.session, sku)
    levels = inventory.list_stock_levels(uow, sku=sku, limit=1000)
    pairs = repository.list_associations(uow.session, sku, 10)
    return ProductIntelligenceRead(
        sku=sku,
        model=periods[0].model if periods else None,
        forecast=[
            ForecastPeriod(period_start=p.period_start, quantity=p.quantity) for p in periods
        ],
        reorder_points=[
            ReorderPolicy(
                location=s.location,
                reorder_point=s.reorder_point,
                order_up_to=s.order_up_to,
                on_hand=s.on_hand,
            )
            for s in levels
        ],
        bought_together=[
            RecommendedProduct(rank=p.rank, sku=p.other_sku_code, score=p.score) for p in pairs
        ],
    )
