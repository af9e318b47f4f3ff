"""Learning to rank (LightGBM lambdarank) over candidates from buy-again, co-purchase and
popularity, with places reserved for products new to the customer.

* Candidates per customer: their own products (the best ``own_candidates`` by the buy-again
  score), the ``similar_candidates`` new products with the highest item-item co-purchase
  score, and the ``popular_candidates`` most popular products they have not bought.
* Features per (customer, product): own recency-weighted orders, order count, days since
  the customer last bought it, co-purchase score (raw and scaled per customer), the
  product's distinct buyers in the last 12 weeks and the 12 before (trend), all-time buyers,
  age of the product, median price, and the customer's history length, order and product
  counts and days since their last order.
* Two rankers, one for the customer's own products (labels: bought again) and one for new
  products (labels: bought for the first time), learn on a window before the cutoff: the
  features at ``as_of - h`` and the purchases in the ``h`` after it, where ``h`` is half
  the history, capped at ``max_label_weeks`` (as the CLV model learns). Only history
  before ``as_of`` is used.
* Slot policy (``interleave``): the first ``k - new_slots`` places go to the customer's own
  products in model order, the rest to the best new products; a customer with fewer own
  products gets more new ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from numpy.typing import NDArray

from omniretail.intelligence.recommending import (
    PurchaseMatrix,
    RecommendConfig,
    item_similarity,
    purchase_matrix,
)
from omniretail.intelligence.transactions import product_sales

# LightGBM is imported where a ranker is fitted or scores, not with the package: every
# command and server process would pay for it.
if TYPE_CHECKING:
    import lightgbm as lgb

FEATURES = [
    "own_weight",
    "own_orders",
    "own_days_since",
    "similar",
    "similar_scaled",
    "pop_recent",
    "pop_previous",
    "pop_trend",
    "buyers_all",
    "sku_age_days",
    "price",
    "cust_days",
    "cust_orders",
    "cust_skus",
    "cust_days_since",
    "rule_own",
    "rule_new",
]
# Matrices of the candidates: own orders with a 26-week half-life, 100 neighbours per item.
BASE = RecommendConfig(method="co_purchase", recency_weeks=26.0)
LIST_SCHEMA = pl.Schema(
    {"customer_id": pl.Int64, "rank": pl.Int64, "sku": pl.String, "score": pl.Float64}
)


@dataclass(frozen=True)
class RankerConfig:
    own_candidates: int = 50
    similar_candidates: int = 30
    popular_candidates: int = 20
    new_slots: int = 2
    short_orders: int = 0  # customers with fewer orders than this get ``short_slots``
    short_slots: int = 2
    max_label_weeks: float = 26.0
    min_label_weeks: float = 4.0
    n_estimators: int = 120
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 50
    seed: int = 0
    objective: str = "lambdarank"
    # Weight of the ranker against the rule in each part (own, new): the score is
    # w x (ranker's rank) + (1 - w) x (rule's rank) among the customer's candidates of that
    # part. 0: the rule alone (buy again, co-purchase blend), no ranker is fitted.
    model_weight_own: float = 1.0
    model_weight_new: float = 1.0
    rules_in_list: bool = False  # True: the one list is ordered by the rules alone
    features: tuple[str, ...] = tuple(FEATURES)
    base: RecommendConfig = BASE


def candidates(tx: pl.DataFrame, as_of: date, config: RankerConfig) -> pl.DataFrame:
    """Candidate (customer_id, sku) pairs with ``own`` (bought before) and ``FEATURES``."""
    history = tx.filter(pl.col("day") < as_of)
    matrix = purchase_matrix(history, as_of, config.base)
    if not matrix.skus or not len(matrix.customers):
        return pl.DataFrame(
            schema={"customer_id": pl.Int64, "sku": pl.String, "own": pl.Boolean}
            | dict.fromkeys(FEATURES, pl.Float64)
        )
    sales = product_sales(history).filter(pl.col("customer_id").is_not_null())
    similar = np.asarray(
        (matrix.weighted @ item_similarity(matrix, config.base.neighbours)).toarray(),
        dtype=np.float64,
    )
    pairs = pl.concat(
        [
            _own_pairs(matrix, config.own_candidates),
            _new_pairs(matrix, similar, config.similar_candidates, config.popular_candidates),
        ]
    ).unique(["row", "col"], keep="first", maintain_order=True)
    rows = pairs["row"].to_numpy()
    cols = pairs["col"].to_numpy()
    top = similar.max(axis=1)
    top[top <= 0] = 1.0
    own_weight = np.asarray(matrix.weighted[rows, cols]).ravel()
    sku_codes = np.array(matrix.skus, dtype=object)
    frame = pl.DataFrame(
        {
            "customer_id": matrix.customers[rows],
            "sku": sku_codes[cols].tolist(),
            "own": own_weight > 0,
            "own_weight": own_weight,
            "similar": similar[rows, cols],
            "similar_scaled": similar[rows, cols] / top[rows],
        },
        schema_overrides={"customer_id": pl.Int64, "sku": pl.String},
    )
    return (
        frame.join(_cell_features(sales, as_of), on=["customer_id", "sku"], how="left")
        .join(_sku_features(sales, as_of), on="sku", how="left")
        .join(_customer_features(sales, as_of), on="customer_id", how="left")
        .with_columns(_rules(config.base.shrinkage))
        .with_columns(pl.col(FEATURES).cast(pl.Float64).fill_null(-1.0))
        .select("customer_id", "sku", "own", *FEATURES)
    )


def _rules(shrinkage: float) -> list[pl.Expr]:
    """The rules' own scores: buy again (own weight scaled per customer plus popularity)
    and the co-purchase blend (co-purchase shrunk toward popularity for short histories)."""
    popular = pl.col("pop_recent").fill_null(0) / pl.col("pop_recent").max().clip(lower_bound=1)
    own = pl.col("own_weight") / pl.col("own_weight").max().over("customer_id").clip(
        lower_bound=1e-9
    )
    trust = pl.col("cust_skus") / (pl.col("cust_skus") + shrinkage)
    return [
        (own + popular).alias("rule_own"),
        (trust * pl.col("similar_scaled") + (1 - trust) * popular).alias("rule_new"),
    ]


def _own_pairs(matrix: PurchaseMatrix, limit: int) -> pl.DataFrame:
    """Each customer's own products, the best ``limit`` by the buy-again score."""
    weighted = matrix.weighted.tocoo()
    popular = matrix.popularity / max(matrix.popularity.max(initial=0.0), 1.0)
    top = np.asarray(weighted.tocsr().max(axis=1).toarray()).ravel()
    top[top <= 0] = 1.0
    return (
        pl.DataFrame(
            {
                "row": weighted.row.astype(np.int64),
                "col": weighted.col.astype(np.int64),
                "score": weighted.data / top[weighted.row] + popular[weighted.col],
            }
        )
        .filter(pl.col("score").rank("ordinal", descending=True).over("row") <= limit)
        .select("row", "col")
    )


def _new_pairs(
    matrix: PurchaseMatrix, similar: NDArray[np.float64], n_similar: int, n_popular: int
) -> pl.DataFrame:
    """Products new to each customer: the best by co-purchase and the most popular."""
    owned = matrix.bought.toarray() > 0
    n_skus = owned.shape[1]
    picks = []
    popular = np.broadcast_to(matrix.popularity, owned.shape)
    for scores, limit in ((similar, n_similar), (popular, n_popular)):
        limit = min(limit, n_skus - 1)
        if limit <= 0:
            continue
        masked = np.where(owned, -np.inf, scores)
        best = np.argpartition(-masked, limit - 1, axis=1)[:, :limit]
        keep = np.isfinite(np.take_along_axis(masked, best, axis=1))
        rows = np.repeat(np.arange(owned.shape[0]), limit).reshape(best.shape)
        picks.append(
            pl.DataFrame(
                {"row": rows[keep], "col": best[keep]},
                schema=[("row", pl.Int64), ("col", pl.Int64)],
            )
        )
    return pl.concat(picks) if picks else pl.DataFrame(schema={"row": pl.Int64, "col": pl.Int64})


def _days(column: str, as_of: date) -> pl.Expr:
    return (pl.lit(as_of) - pl.col(column)).dt.total_days().cast(pl.Float64)


def _cell_features(sales: pl.DataFrame, as_of: date) -> pl.DataFrame:
    return (
        sales.group_by("customer_id", "sku")
        .agg(pl.col("order_number").n_unique().alias("own_orders"), pl.col("day").max())
        .select("customer_id", "sku", "own_orders", own_days_since=_days("day", as_of))
    )


def _sku_features(sales: pl.DataFrame, as_of: date) -> pl.DataFrame:
    age = _days("day", as_of)
    return (
        sales.group_by("sku")
        .agg(
            pop_recent=pl.col("customer_id").filter(age < 84).n_unique(),
            pop_previous=pl.col("customer_id").filter((age >= 84) & (age < 168)).n_unique(),
            buyers_all=pl.col("customer_id").n_unique(),
            sku_age_days=age.max(),
            price=pl.col("unit_price").median(),
        )
        .with_columns(
            pop_trend=(pl.col("pop_recent") + 1) / (pl.col("pop_previous") + 1),
        )
    )


def _customer_features(sales: pl.DataFrame, as_of: date) -> pl.DataFrame:
    age = _days("day", as_of)
    return sales.group_by("customer_id").agg(
        cust_days=age.max(),
        cust_orders=pl.col("order_number").n_unique(),
        cust_skus=pl.col("sku").n_unique(),
        cust_days_since=age.min(),
    )


def label_weeks(tx: pl.DataFrame, as_of: date, config: RankerConfig) -> float:
    """The learning window: half the history, capped at ``max_label_weeks``."""
    first: date | None = tx.filter(pl.col("day") < as_of).select(pl.col("day").min()).item()
    if first is None:
        return 0.0
    half = (as_of - first).days / 14.0
    return min(half, config.max_label_weeks)


@dataclass
class Rankers:
    own: lgb.LGBMModel | None
    new: lgb.LGBMModel | None
    features: tuple[str, ...] = tuple(FEATURES)


def fit(tx: pl.DataFrame, as_of: date, config: RankerConfig) -> Rankers:
    """Fit both rankers on features at ``as_of - h`` and the purchases in ``[as_of - h,
    as_of)``; ``None`` where the history is too short or a group has no positive label."""
    weeks = label_weeks(tx, as_of, config)
    if weeks < config.min_label_weeks:
        return Rankers(None, None, config.features)
    start = as_of - timedelta(days=round(weeks * 7))
    frame = candidates(tx, start, config)
    window = tx.filter((pl.col("day") >= start) & (pl.col("day") < as_of))
    bought = (
        product_sales(window)
        .filter(pl.col("customer_id").is_not_null())
        .select("customer_id", "sku")
        .unique()
        .with_columns(label=pl.lit(1, dtype=pl.Int32))
    )
    frame = frame.join(bought, on=["customer_id", "sku"], how="left").with_columns(
        pl.col("label").fill_null(0)
    )
    return Rankers(
        _fit_one(frame.filter("own"), config) if config.model_weight_own > 0 else None,
        _fit_one(frame.filter(~pl.col("own")), config) if config.model_weight_new > 0 else None,
        config.features,
    )


def _fit_one(frame: pl.DataFrame, config: RankerConfig) -> lgb.LGBMModel | None:
    frame = frame.filter(pl.col("label").sum().over("customer_id") > 0).sort("customer_id", "sku")
    if frame.height == 0 or frame["label"].n_unique() < 2:
        return None
    groups = frame.group_by("customer_id", maintain_order=True).len()["len"].to_numpy()
    import lightgbm as lgb

    model = (lgb.LGBMRanker if config.objective == "lambdarank" else lgb.LGBMClassifier)(
        objective=config.objective,
        n_estimators=config.n_estimators,
        learning_rate=config.learning_rate,
        num_leaves=config.num_leaves,
        min_child_samples=config.min_child_samples,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=config.seed,
        n_jobs=2,
        verbose=-1,
    )
    x = frame.select(config.features).to_numpy()
    if isinstance(model, lgb.LGBMRanker):
        model.fit(x, frame["label"].to_numpy(), group=groups)
    else:
        model.fit(x, frame["label"].to_numpy())
    return model


def score(
    frame: pl.DataFrame, rankers: Rankers, weights: tuple[float, float] = (1.0, 1.0)
) -> pl.DataFrame:
    """``frame`` with a ``score`` column: the matching ranker's score, or (no ranker) the
    rule's: buy again for own products, the co-purchase blend for new ones. With
    ``weights`` (own, new) below 1, the ranker's and the rule's ranks are blended."""
    scored = _score(frame, rankers)
    if (rankers.own is None and rankers.new is None) or min(weights) >= 1:
        return scored

    def share(column: str) -> pl.Expr:
        return pl.col(column).rank().over("customer_id", "own") / pl.len().over(
            "customer_id", "own"
        )

    rule = pl.when("own").then(pl.col("rule_own")).otherwise(pl.col("rule_new"))
    weight = pl.when("own").then(weights[0]).otherwise(weights[1])
    return (
        scored.with_columns(rule=rule)
        .with_columns(score=weight * share("score") + (1 - weight) * share("rule"))
        .drop("rule")
    )


def _score(frame: pl.DataFrame, rankers: Rankers) -> pl.DataFrame:
    import lightgbm as lgb

    values = np.zeros(frame.height)
    own = frame["own"].to_numpy()
    features = frame.select(rankers.features).to_numpy()
    for mask, model, fallback in (
        (own, rankers.own, "rule_own"),
        (~own, rankers.new, "rule_new"),
    ):
        if not mask.any():
            continue
        if model is None:
            values[mask] = frame[fallback].to_numpy()[mask]
        else:
            predicted = (
                model.predict_proba(features[mask])
                if isinstance(model, lgb.LGBMClassifier)
                else model.predict(features[mask])
            )
            values[mask] = np.asarray(predicted, dtype=np.float64).reshape(mask.sum(), -1)[:, -1]
    return frame.with_columns(score=pl.Series(values, dtype=pl.Float64))


def interleave(
    scored: pl.DataFrame, k: int, new_slots: int, short: tuple[int, int] = (0, 0)
) -> pl.DataFrame:
    """One list per customer (``customer_id, rank, sku, score``) from scored candidates
    (``customer_id, sku, own, score`` and, for ``short``, ``cust_orders``): own products in
    score order in the first places, then new products in score order up to ``k``.

    ``new_slots`` places are kept for new products; customers with fewer than ``short[0]``
    orders get ``short[1]`` instead. A customer with too few own (or new) products gets more
    of the other kind."""
    ordered = scored.sort(["customer_id", "score"], descending=[False, True]).with_columns(
        n=pl.int_range(pl.len()).over("customer_id", "own")
    )
    counts = ordered.group_by("customer_id").agg(
        n_own=pl.col("own").sum().cast(pl.Int64), n_new=(~pl.col("own")).sum().cast(pl.Int64)
    )
    ordered = ordered.join(counts, on="customer_id")
    slots = (
        pl.when(pl.col("cust_orders") < short[0]).then(short[1]).otherwise(new_slots)
        if short[0] > 0 and "cust_orders" in scored.columns
        else pl.lit(new_slots)
    ).clip(0, k)
    own_places = (
        pl.max_horizontal(pl.lit(k) - slots, pl.lit(k) - pl.col("n_new"))
        .clip(lower_bound=0)
        .clip(upper_bound=pl.col("n_own"))
    )
    keep = (
        pl.when(pl.col("own"))
        .then(pl.col("n") < own_places)
        .otherwise(pl.col("n") < pl.lit(k) - own_places)
    )
    return (
        ordered.filter(keep)
        .with_columns(group=pl.col("own").cast(pl.Int8).neg())
        .sort(["customer_id", "group", "n"])
        .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("customer_id"))
        .select("customer_id", "rank", "sku", "score")
        .cast(LIST_SCHEMA)
    )


def scaled_slots(slots: int, k: int) -> int:
    """Places out of ``k`` matching ``slots`` out of 10 (the validated list length)."""
    return min(k, int(slots * k / 10 + 0.5))


def recommend(
    tx: pl.DataFrame, as_of: date, k: int, config: RankerConfig | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The one list (own products and ``new_slots`` new ones, both counted out of 10 and
    scaled to ``k``) and the "new for you" list (only products the customer has not bought),
    both ``customer_id, rank, sku, score``. With a model weight of 0 the rule orders that part:
    buy again (recency-weighted own orders plus current popularity) for own products, the
    co-purchase blend for new ones."""
    config = config or RankerConfig()
    history = tx.filter(pl.col("day") < as_of)
    weights = (config.model_weight_own, config.model_weight_new)
    rankers = fit(history, as_of, config) if max(weights) > 0 else Rankers(None, None)
    pool = candidates(history, as_of, config)
    scored = score(pool, rankers, weights)
    listed = score(pool, Rankers(None, None)) if config.rules_in_list else scored
    short = (config.short_orders, scaled_slots(config.short_slots, k))
    one = interleave(listed, k, scaled_slots(config.new_slots, k), short)
    new_only = interleave(scored.filter(~pl.col("own")), k, k)
    return one, new_only
