"""Intelligence use cases: fit the models on the platform's history and store the results.

Fitting is pure (frames in, frames out); ``store_*`` functions write a snapshot inside the
caller's unit of work and never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
from sqlalchemy import Engine

from omniretail.customers import service as customers
from omniretail.customers.schemas import ConsentRead
from omniretail.db.uow import UnitOfWork
from omniretail.intelligence import (
    lifetime,
    recommending,
    recommending_ranker,
    repository,
    segments,
)

# Re-exported for the console (the dashboard's sales, the planning page's settings).
from omniretail.intelligence.analytics import weekly_kpis as weekly_kpis
from omniretail.intelligence.events import ForecastRefreshed, ScoresRefreshed
from omniretail.intelligence.forecasting import Forecast, ForecastConfig, demand_history, forecast
from omniretail.intelligence.recommending import RecommendConfig
from omniretail.intelligence.replenishment import ReplenishmentConfig as ReplenishmentConfig
from omniretail.intelligence.replenishment import policies
from omniretail.intelligence.sales_totals import daily_sales as daily_sales
from omniretail.intelligence.sales_totals import last_sale_day_before as last_sale_day_before
from omniretail.intelligence.schemas import (
    ClvRead,
    CustomerIntelligence,
    CustomerScoresRead,
    ForecastPeriod,
    ProductIntelligenceRead,
    RecommendationsRead,
    RecommendedProduct,
    ReorderPolicy,
    RfmRead,
)
from omniretail.inventory.schemas import StockLevelRead
from omniretail.inventory.service import PolicyRow, set_policies

if TYPE_CHECKING:  # replenishment_run builds on this module
    from omniretail.intelligence.replenishment_run import ReplenishmentRun

FORECAST_MODEL = "ses+calendar"
NEXT = RecommendConfig(method="buy_again", recency_weeks=26.0, own_popularity=1.0)
NEW = RecommendConfig(method="blend", exclude_purchased=True)
# The default list: buy again orders the customer's own products; new products are ordered
# by the average of their ranks by the LightGBM ranker and by the co-purchase blend (the
# "new for you" list); 1 of 10 places is kept for a new product, 4 for customers with fewer
# than 3 orders. Chosen on the in-year validation (docs/evaluation.md).
SLOTS = recommending_ranker.RankerConfig(
    model_weight_own=0.0,
    model_weight_new=0.5,
    new_slots=1,
    short_orders=3,
    short_slots=4,
)


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
    predicted = lifetime.predict_spend_activity(history, start, weeks)
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


def recommend_products(
    tx: pl.DataFrame, as_of: date, k: int, *, new_slots: int | None = None
) -> RecommendationLists:
    """``next``: the customer's own products first (buy again), then products new to them
    (``new``, the "new for you" list: ranks of the ranker and the co-purchase blend).
    By default (``new_slots=None``) the ``SLOTS`` policy keeps places for new products (1 of
    10, 4 of 10 for customers with fewer than 3 orders, scaled to ``k``); ``new_slots=N``
    keeps the last N places for every customer instead (0: buy again, filled by
    popularity)."""
    history = tx.filter(pl.col("day") < as_of)
    next_lists, popular = recommending.recommend(history, as_of, k, NEXT)
    slotted, new_lists = recommending_ranker.recommend(history, as_of, k, SLOTS)
    if new_slots is None:
        next_lists = slotted
    elif new_slots > 0:
        next_lists = recommending.reserve_new(next_lists, new_lists, min(new_slots, k), k)
    return RecommendationLists(next_lists, new_lists, popular)


def lists_for_everyone(
    lists: RecommendationLists, customers: pl.DataFrame, *, new_only: bool = False
) -> pl.DataFrame:
    """``customer_id, customer_number, rank, sku``: the personal list (``new_only``: the list
    of products the customer has not bought), or the popular one for customers without
    history."""
    personal = lists.new if new_only else lists.next
    known = customers.join(personal, on="customer_id", how="inner")
    unknown = customers.join(personal.select("customer_id").unique(), on="customer_id", how="anti")
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
    uow.record(ForecastRefreshed(rows=len(rows)))
    return len(rows)


def store_customer_scores(
    uow: UnitOfWork, scores: pl.DataFrame, as_of: date, weeks: int, *, only_these: bool = False
) -> int:
    """Stores the scores of a refresh (replacing every customer's); ``only_these``: replaces
    only the rows of the customers in ``scores``."""
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
    if only_these:
        repository.upsert_customer_scores(uow.session, rows)
    else:
        repository.replace_customer_scores(uow.session, rows)
    uow.record(ScoresRefreshed(rows=len(rows)))
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


def forget_customers(uow: UnitOfWork, customer_ids: Sequence[int]) -> int:
    """Drops the segments, scores and recommendation lists of erased people (the erasure
    route calls it in the erasure's transaction; later batches no longer see them)."""
    return repository.delete_customer_results(uow.session, customer_ids)


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

POPULAR_BECAUSE_WITHDRAWN = "personalisation_withdrawn"
POPULAR_BECAUSE_NO_HISTORY = "no_personal_list"


def last_refresh(uow: UnitOfWork) -> datetime | None:
    """When the stored customer scores were computed (None: never)."""
    return repository.latest_computed_at(uow.session)


def withdrew_personalisation(consents: Sequence[ConsentRead]) -> bool:
    """A recorded refusal of personalisation among a profile's consent answers."""
    return any(c.purpose.value == "personalisation" and not c.granted for c in consents)


def personalisation_allowed(uow: UnitOfWork, customer_id: int) -> bool:
    """The consent gate for lists served to a person: a customer who withdrew consent to
    personalisation gets the popular list. Imported customers never recorded a choice, and
    recommendations on a shop's own purchase history are shown to them."""
    return not withdrew_personalisation(customers.list_consents(uow, customer_id))


def customer_intelligence(
    uow: UnitOfWork,
    customer_id: int,
    k: int = 10,
    *,
    cluster: Sequence[int] | None = None,
    consents: Sequence[ConsentRead] | None = None,
) -> CustomerIntelligence:
    """Segment, RFM, CLV, p_alive and the top-``k`` products to offer for the person behind
    ``customer_id`` (an alias resolves to the surviving profile; the scores and lists of a
    merged profile are used when the survivor has none). Raises the customers domain's
    not-found or erased problem. ``cluster`` (the survivor's id first) and ``consents`` (the
    survivor's answers) save their queries when the caller has read them (the 360)."""
    ids = list(cluster) if cluster else customers.cluster(uow, customer_id)
    if consents is None:
        consents = customers.list_consents(uow, ids[0])
    personalised = not withdrew_personalisation(consents)
    rows = repository.customer_block(uow.session, ids, k, personal=personalised)
    scores = {r.customer_id: r for r in rows if r.part == 0}
    score = next((scores[i] for i in ids if i in scores), None)
    personal = [r for r in rows if r.part == 1]
    owner = next((i for i in ids if any(r.customer_id == i for r in personal)), None)
    chosen = [r for r in personal if r.customer_id == owner]
    source: Literal["personal", "popular"] = "personal" if chosen else "popular"
    if not chosen:
        chosen = [r for r in rows if r.part == 2]
    recommendations = RecommendationsRead(
        source=source,
        personalised=source == "personal",
        reason=None
        if source == "personal"
        else POPULAR_BECAUSE_NO_HISTORY
        if personalised
        else POPULAR_BECAUSE_WITHDRAWN,
        items=[RecommendedProduct(rank=r.rank, sku=r.sku_code, score=r.score) for r in chosen],
    )
    if score is None:
        return CustomerIntelligence(
            customer_id=ids[0],
            segment="not_scored",
            rfm=None,
            clv=None,
            p_alive=None,
            as_of=None,
            computed_at=None,
            recommendations=recommendations,
        )
    return CustomerIntelligence(
        customer_id=ids[0],
        segment=score.segment,
        rfm=RfmRead(
            recency_days=score.recency_days,
            frequency=score.frequency,
            monetary=score.monetary,
            r_score=score.r_score,
            f_score=score.f_score,
            m_score=score.m_score,
        ),
        clv=ClvRead(expected_revenue=score.expected_revenue, horizon_weeks=score.horizon_weeks),
        p_alive=score.p_alive,
        as_of=score.as_of,
        computed_at=score.computed_at,
        recommendations=recommendations,
    )


def new_for_you(uow: UnitOfWork, customer_id: int, k: int = 10) -> list[RecommendedProduct] | None:
    """The stored "new for you" list (products the person has not bought, the
    ``recommend --new-only`` model) of the person behind ``customer_id``: the survivor's, else
    a merged profile's. None without consent to personalisation; empty before a model run."""
    ids = customers.cluster(uow, customer_id)
    if withdrew_personalisation(customers.list_consents(uow, ids[0])):
        return None
    rows = repository.list_new_for_you(uow.session, ids, k)
    owner = next((i for i in ids if any(r.customer_id == i for r in rows)), None)
    return [
        RecommendedProduct(rank=r.rank, sku=r.sku_code, score=r.score)
        for r in rows
        if r.customer_id == owner
    ]


def get_customer_scores(uow: UnitOfWork, customer_id: int, k: int = 10) -> CustomerScoresRead:
    """The same figures, flat (the web console's customer page)."""
    block = customer_intelligence(uow, customer_id, k)
    rfm, clv = block.rfm, block.clv
    return CustomerScoresRead(
        customer_id=block.customer_id,
        segment=block.segment,
        recency_days=rfm.recency_days if rfm else None,
        frequency=rfm.frequency if rfm else 0,
        monetary=rfm.monetary if rfm else 0.0,
        r_score=rfm.r_score if rfm else None,
        f_score=rfm.f_score if rfm else None,
        m_score=rfm.m_score if rfm else None,
        expected_revenue=clv.expected_revenue if clv else None,
        p_alive=block.p_alive,
        horizon_weeks=clv.horizon_weeks if clv else None,
        as_of=block.as_of,
        computed_at=block.computed_at,
        personalised=block.recommendations.personalised,
        recommendations=block.recommendations.items,
    )


def product_intelligence(
    uow: UnitOfWork, skus: Sequence[str], *, together: int = 10
) -> dict[str, ProductIntelligenceRead]:
    """Per SKU (which the caller has checked exists): the stored weekly forecast, the reorder
    point and order-up-to level of each location that keeps a stock record, and the products
    bought with it. Three queries plus one stock read per SKU."""
    from omniretail.inventory import service as inventory

    forecasts: dict[str, list[repository.ForecastRow]] = {sku: [] for sku in skus}
    for row in repository.list_forecasts(uow.session, skus):
        forecasts[row.sku_code].append(row)
    pairs: dict[str, list[repository.AssociationRow]] = {sku: [] for sku in skus}
    for pair in repository.list_associations_of(uow.session, skus, together):
        pairs[pair.sku_code].append(pair)
    result: dict[str, ProductIntelligenceRead] = {}
    for sku in skus:
        periods = forecasts[sku]
        levels = inventory.list_stock_levels(uow, sku=sku, limit=10_000)
        result[sku] = ProductIntelligenceRead(
            sku=sku,
            model=periods[0].model if periods else None,
            computed_at=periods[0].computed_at if periods else None,
            forecast=[
                ForecastPeriod(period_start=p.period_start, quantity=p.quantity) for p in periods
            ],
            reorder_points=[_policy(s) for s in levels],
            bought_together=[
                RecommendedProduct(rank=p.rank, sku=p.other_sku_code, score=p.score)
                for p in pairs[sku]
            ],
        )
    return result


def _policy(level: StockLevelRead) -> ReorderPolicy:
    position = level.on_hand - level.reserved - level.allocated + level.in_transit
    return ReorderPolicy(
        location=level.location,
        on_hand=level.on_hand,
        position=position,
        safety_stock=level.safety_stock,
        reorder_point=level.reorder_point,
        order_up_to=level.order_up_to,
        at_or_below_reorder_point=level.reorder_point is not None
        and position <= level.reorder_point,
    )


def get_product_intelligence(uow: UnitOfWork, sku: str) -> ProductIntelligenceRead:
    from omniretail.catalog import service as catalog

    code = catalog.get_sku(uow, sku).code  # raises the catalog's not-found problem
    return product_intelligence(uow, [code])[code]


def run_replenishment(
    history_engine: Engine,
    write_uow: Callable[[], UnitOfWork],
    read_uow: Callable[[], UnitOfWork],
    *,
    config: ReplenishmentConfig,
    channel: str,
    today: date,
    actor: str,
    progress: Callable[[str], None],
) -> ReplenishmentRun:
    """Forecast -> reorder points -> what to order or transfer, and the overstock report
    (``replenishment_run.run_replenishment``, imported when called: it builds on this module)."""
    from omniretail.intelligence import replenishment_run

    return replenishment_run.run_replenishment(
        history_engine,
        write_uow,
        read_uow,
        config=config,
        channel=channel,
        today=today,
        actor=actor,
        progress=progress,
    )


# Markdowns (``markdown_service``), for the console page through this face.
# Dynamic pricing's use cases, for the console (``intelligence.dynamic_pricing``).
from omniretail.intelligence import dynamic_pricing as dynamic_pricing  # noqa: E402
from omniretail.intelligence.markdown_service import (  # noqa: E402
    MarkdownDecided as MarkdownDecided,
)
from omniretail.intelligence.markdown_service import (  # noqa: E402
    approve_markdown as approve_markdown,
)
from omniretail.intelligence.markdown_service import (  # noqa: E402
    get_markdown as get_markdown,
)
from omniretail.intelligence.markdown_service import (  # noqa: E402
    last_suggestions_job as last_suggestions_job,
)
from omniretail.intelligence.markdown_service import (  # noqa: E402
    list_markdowns as list_markdowns,
)
from omniretail.intelligence.markdown_service import (  # noqa: E402
    markdown_categories as markdown_categories,
)
from omniretail.intelligence.markdown_service import (  # noqa: E402
    queue_suggestions as queue_suggestions,
)
from omniretail.intelligence.markdown_service import (  # noqa: E402
    reject_markdown as reject_markdown,
)
