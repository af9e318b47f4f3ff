"""RFM scores (1-5 quintiles of recency, frequency, monetary) and named segments."""

from __future__ import annotations

from datetime import date

import polars as pl

from omniretail.intelligence.lifetime import customer_summary

# (recency score pattern, frequency score pattern) -> segment; the usual RF grid.
SEGMENT_RULES: list[tuple[str, str, str]] = [
    ("champions", "45", "45"),
    ("loyal", "34", "45"),
    ("potential_loyalist", "45", "23"),
    ("new", "5", "1"),
    ("promising", "4", "1"),
    ("need_attention", "3", "3"),
    ("about_to_sleep", "3", "12"),
    ("cant_lose", "12", "5"),
    ("at_risk", "12", "34"),
    ("hibernating", "12", "12"),
]
NO_PURCHASE = "no_purchases"


def segment_name(r: int, f: int) -> str:
    for name, recency, frequency in SEGMENT_RULES:
        if str(r) in recency and str(f) in frequency:
            return name
    return "need_attention"


def _quintile(column: str, *, descending: bool = False) -> pl.Expr:
    ranked = pl.col(column).rank("average", descending=descending)
    return (((ranked - 1) / pl.len() * 5).floor().cast(pl.Int64) + 1).clip(1, 5)


def rfm(tx: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """``customer_id, recency_days, frequency, monetary, r_score, f_score, m_score, segment``
    for customers with a purchase before ``as_of``. Frequency counts orders; monetary is net
    product revenue; the most recent buyers get r_score 5."""
    summary = customer_summary(tx, as_of)
    scored = summary.select(
        "customer_id",
        recency_days=(pl.lit(as_of) - pl.col("last_day")).dt.total_days().cast(pl.Int64),
        frequency=pl.col("orders").cast(pl.Int64),
        monetary=pl.col("revenue"),
    ).with_columns(
        r_score=_quintile("recency_days", descending=True),
        f_score=_quintile("frequency"),
        m_score=_quintile("monetary"),
    )
    rules = pl.DataFrame(
        [(r, f, segment_name(r, f)) for r in range(1, 6) for f in range(1, 6)],
        schema={"r_score": pl.Int64, "f_score": pl.Int64, "segment": pl.String},
        orient="row",
    )
    return scored.join(rules, on=["r_score", "f_score"], how="left")
