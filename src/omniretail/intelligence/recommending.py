"""Product recommendations per customer and "bought together" per product.

Scores come from sparse customer x SKU matrices built from net sales (cancelled lines are not
purchases):

* ``buy_again``: the customer's own purchases, each order weighted by its recency, plus
  (``own_popularity``) how many customers buy each of them now;
* ``co_purchase``: item-to-item cosine similarity of who bought what (customers who bought A
  also bought B), applied to the customer's recency-weighted purchases;
* ``popular``: distinct recent buyers per SKU, the fallback for customers without history;
* ``blend`` (the default, chosen by evaluation): the customer's own purchases first, then
  products new to them ranked by co-purchase similarity plus popularity.

Every step is a sparse/dense matrix operation over all customers at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from omniretail.intelligence.transactions import product_sales

# SciPy is imported where a matrix is built, not with the package: every command and server
# process would pay for it.
if TYPE_CHECKING:
    import scipy.sparse as sp

RecommendMethod = Literal["popular", "buy_again", "co_purchase", "blend"]


@dataclass(frozen=True)
class RecommendConfig:
    method: RecommendMethod = "blend"
    recency_weeks: float = 12.0  # half-life of a purchase's weight
    popular_weeks: int = 12  # popularity counts buyers over this many recent weeks
    neighbours: int = 100  # similar items kept per item
    shrinkage: float = 10.0  # products bought before co-purchase outweighs popularity
    exclude_purchased: bool = False  # True: only products new to the customer
    own_popularity: float = 0.0  # "buy_again": weight of popularity among the customer's own


@dataclass
class PurchaseMatrix:
    customers: NDArray[np.int64]  # customer_id per row
    skus: list[str]
    weighted: sp.csr_matrix  # recency-weighted order counts
    bought: sp.csr_matrix  # 1 where the customer ever bought the SKU
    popularity: NDArray[np.float64]  # distinct recent buyers per SKU


def purchase_matrix(tx: pl.DataFrame, as_of: date, config: RecommendConfig) -> PurchaseMatrix:
    import scipy.sparse as sp

    sales = product_sales(tx.filter(pl.col("day") < as_of)).filter(
        pl.col("customer_id").is_not_null()
    )
    orders = sales.group_by("customer_id", "sku", "order_number").agg(pl.col("day").max())
    age_weeks = (pl.lit(as_of) - pl.col("day")).dt.total_days() / 7.0
    orders = orders.with_columns(weight=(0.5 ** (age_weeks / config.recency_weeks)))
    customers = np.sort(orders["customer_id"].unique().to_numpy())
    skus = sorted(orders["sku"].unique().to_list())
    if not skus:
        empty = sp.csr_matrix((len(customers), 0))
        return PurchaseMatrix(customers, [], empty, empty, np.zeros(0))
    cells = orders.group_by("customer_id", "sku").agg(
        pl.col("weight").sum(), pl.col("day").max().alias("last_day")
    )
    rows = np.searchsorted(customers, cells["customer_id"].to_numpy())
    sku_codes = np.array(skus, dtype=object)
    cols = np.searchsorted(sku_codes, cells["sku"].to_numpy().astype(object))
    shape = (len(customers), len(skus))
    weighted = sp.csr_matrix((cells["weight"].to_numpy(), (rows, cols)), shape=shape)
    bought = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
    recent = cells.with_columns(col=cols).filter(
        (pl.lit(as_of) - pl.col("last_day")).dt.total_days() < 7 * config.popular_weeks
    )
    popularity = np.bincount(recent["col"].to_numpy(), minlength=len(skus)).astype(np.float64)
    return PurchaseMatrix(customers, skus, weighted, bought, popularity)


def item_similarity(matrix: PurchaseMatrix, neighbours: int) -> sp.csr_matrix:
    """Cosine similarity of SKUs by their buyers, keeping each SKU's ``neighbours`` best."""
    import scipy.sparse as sp

    bought = matrix.bought.tocsc()
    norms = np.sqrt(np.asarray(bought.multiply(bought).sum(axis=0))).ravel()
    norms[norms == 0] = 1.0
    scaled = bought @ sp.diags(1.0 / norms)
    similarity = (scaled.T @ scaled).toarray()
    np.fill_diagonal(similarity, 0.0)
    if neighbours < similarity.shape[1]:
        cut = np.argpartition(-similarity, neighbours, axis=1)[:, neighbours:]
        np.put_along_axis(similarity, cut, 0.0, axis=1)
    return sp.csr_matrix(similarity)


def _scale_rows(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    top = scores.max(axis=1, keepdims=True)
    top[top <= 0] = 1.0
    return np.asarray(scores / top, dtype=np.float64)


def score(matrix: PurchaseMatrix, config: RecommendConfig) -> NDArray[np.float64]:
    """Dense customer x SKU scores (higher is better)."""
    n_customers, n_skus = matrix.weighted.shape
    popular = np.broadcast_to(
        matrix.popularity / max(matrix.popularity.max(initial=0.0), 1.0), (n_customers, n_skus)
    ).astype(np.float64)
    if config.method == "popular":
        return np.array(popular)
    own = matrix.weighted.toarray()
    if config.method == "buy_again":
        # Of a customer's own products, the ones many others buy now are bought again more.
        boost = config.own_popularity * (own > 0) + 1e-3
        return np.asarray(_scale_rows(own) + boost * popular, dtype=np.float64)
    similar = np.asarray(
        (matrix.weighted @ item_similarity(matrix, config.neighbours)).toarray(), dtype=np.float64
    )
    if config.method == "co_purchase":
        return _scale_rows(similar) + 1e-3 * popular
    # Tiered: everything the customer bought before ranks first (by recency-weighted
    # frequency), then products new to them by co-purchase and popularity. Evaluation showed
    # that letting similar items overtake a customer's own older purchases loses hits.
    # Similar customers say more about someone who bought many products: trust co-purchase in
    # proportion to the customer's history and fall back to popularity for the rest.
    owned = own > 0
    n_owned = owned.sum(axis=1, keepdims=True)
    trust = n_owned / (n_owned + config.shrinkage)
    fresh = trust * _scale_rows(similar) + (1 - trust) * popular
    return np.asarray(
        np.where(owned, 2.0 + _scale_rows(own) + 1e-3 * fresh, fresh), dtype=np.float64
    )


def top_k(
    scores: NDArray[np.float64], k: int, exclude: sp.csr_matrix | None = None
) -> NDArray[np.int64]:
    """Column indices of each row's ``k`` best scores, best first."""
    scores = np.array(scores, dtype=np.float64)
    if exclude is not None and exclude.nnz:
        rows, cols = exclude.nonzero()
        scores[rows, cols] = -np.inf
    k = min(k, scores.shape[1])
    if k == 0:
        return np.zeros((scores.shape[0], 0), dtype=np.int64)
    best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
    return np.asarray(np.take_along_axis(best, order, axis=1), dtype=np.int64)


def recommend(
    tx: pl.DataFrame, as_of: date, k: int, config: RecommendConfig | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Top-``k`` SKUs per customer with history (``customer_id, rank, sku, score``) and the
    popular list for everyone else (``rank, sku, score``)."""
    config = config or RecommendConfig()
    matrix = purchase_matrix(tx, as_of, config)
    popular_order = np.argsort(-matrix.popularity, kind="stable")[:k]
    popular = pl.DataFrame(
        {
            "rank": np.arange(1, len(popular_order) + 1, dtype=np.int64),
            "sku": [matrix.skus[i] for i in popular_order],
            "score": matrix.popularity[popular_order],
        }
    )
    if not len(matrix.customers):
        return _empty_lists(), popular
    scores = score(matrix, config)
    exclude = matrix.bought if config.exclude_purchased else None
    best = top_k(scores, k, exclude)
    n, width = best.shape
    sku_codes = np.array(matrix.skus, dtype=object)
    lists = pl.DataFrame(
        {
            "customer_id": np.repeat(matrix.customers, width),
            "rank": np.tile(np.arange(1, width + 1, dtype=np.int64), n),
            "sku": sku_codes[best.ravel()],
            "score": np.take_along_axis(scores, best, axis=1).ravel(),
        },
        schema={"customer_id": pl.Int64, "rank": pl.Int64, "sku": pl.String, "score": pl.Float64},
    ).filter(pl.col("score") > -np.inf)
    return lists, popular


def _empty_lists() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"customer_id": pl.Int64, "rank": pl.Int64, "sku": pl.String, "score": pl.Float64}
    )


def bought_together(tx: pl.DataFrame, as_of: date, k: int = 10) -> pl.DataFrame:
    """Per SKU, the ``k`` SKUs most often in the same order (``sku, rank, other_sku, score``
    where score is the cosine similarity of their order sets)."""
    import scipy.sparse as sp

    sales = product_sales(tx.filter(pl.col("day") < as_of))
    pairs = sales.select("order_number", "sku").unique()
    skus = sorted(pairs["sku"].unique().to_list())
    orders = pairs["order_number"].unique().sort()
    if not skus:
        return pl.DataFrame(
            schema={"sku": pl.String, "rank": pl.Int64, "other_sku": pl.String, "score": pl.Float64}
        )
    sku_codes = np.array(skus, dtype=object)
    rows = np.searchsorted(orders.to_numpy().astype(object), pairs["order_number"].to_numpy())
    cols = np.searchsorted(sku_codes, pairs["sku"].to_numpy().astype(object))
    basket = sp.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(orders), len(skus)))
    counts = np.asarray(basket.sum(axis=0)).ravel()
    together = (basket.T @ basket).toarray()
    np.fill_diagonal(together, 0.0)
    norms = np.sqrt(np.maximum(counts, 1.0))
    cosine = together / norms[:, None] / norms[None, :]
    cosine[together < 2] = 0.0  # one shared basket is not a pattern
    best = top_k(cosine, k)
    width = best.shape[1]
    values = np.take_along_axis(cosine, best, axis=1).ravel()
    return pl.DataFrame(
        {
            "sku": np.repeat(sku_codes, width),
            "rank": np.tile(np.arange(1, width + 1, dtype=np.int64), len(skus)),
            "other_sku": sku_codes[best.ravel()],
            "score": values,
        },
        schema={"sku": pl.String, "rank": pl.Int64, "other_sku": pl.String, "score": pl.Float64},
    ).filter(pl.col("score") > 0)


def reserve_new(own: pl.DataFrame, new: pl.DataFrame, slots: int, k: int) -> pl.DataFrame:
    """One list from two (``customer_id, rank, sku, score``): the first ``k - slots`` of
    ``own``, then the best of ``new`` not already in it, up to ``k``, re-ranked 1..k."""
    head = own.filter(pl.col("rank") <= k - slots).select("customer_id", "sku", "score")
    taken = head.group_by("customer_id").len("taken")
    fill = (
        new.join(head, on=["customer_id", "sku"], how="anti")
        .sort("customer_id", "rank")
        .with_columns(n=pl.int_range(pl.len()).over("customer_id"))
        .join(taken, on="customer_id", how="left")
        .filter(pl.col("n") < k - pl.col("taken").fill_null(0))
    )
    return (
        pl.concat([head, fill.select("customer_id", "sku", "score")])
        .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("customer_id"))
        .select("customer_id", "rank", "sku", "score")
    )
