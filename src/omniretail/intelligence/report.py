"""``omniretail report``: a self-contained HTML page (PNG charts embedded) for a merchant."""

from __future__ import annotations

import base64
import html
import io
from datetime import date
from pathlib import Path

import polars as pl

from omniretail.intelligence import analytics


def _chart(draw: object) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 3.2), dpi=100)
    draw(axis)  # type: ignore[operator]
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="chart" src="data:image/png;base64,{data}">'


def _table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def write_report(tx: pl.DataFrame, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    weekly = analytics.weekly_kpis(tx)
    cohorts = analytics.cohort_retention(tx)
    sellers = analytics.seasonal_best_sellers(tx)
    weeks = weekly["week"].to_list()

    def revenue(axis: object) -> None:
        axis.bar(weeks, weekly["revenue"].to_list(), width=5)  # type: ignore[attr-defined]
        axis.set_title("Net revenue per week (GBP)")  # type: ignore[attr-defined]

    def orders(axis: object) -> None:
        axis.plot(weeks, weekly["orders"].to_list(), label="orders")  # type: ignore[attr-defined]
        axis.plot(weeks, weekly["new_customers"].to_list(), label="new customers")  # type: ignore[attr-defined]
        axis.plot(weeks, weekly["returning_customers"].to_list(), label="returning customers")  # type: ignore[attr-defined]
        axis.legend()  # type: ignore[attr-defined]
        axis.set_title("Orders and customers per week")  # type: ignore[attr-defined]

    def cancellations(axis: object) -> None:
        axis.plot(weeks, weekly["cancellation_rate"].to_list())  # type: ignore[attr-defined]
        axis.set_title("Share of ordered revenue cancelled")  # type: ignore[attr-defined]

    def retention(axis: object) -> None:
        matrix = cohorts.select(pl.exclude("cohort", "customers")).to_numpy()
        image = axis.imshow(matrix, aspect="auto", cmap="Blues", vmin=0, vmax=0.6)  # type: ignore[attr-defined]
        axis.set_yticks(range(cohorts.height), cohorts["cohort"].to_list())  # type: ignore[attr-defined]
        axis.set_xlabel("months since first purchase")  # type: ignore[attr-defined]
        axis.set_title("Cohort retention (share of a month's new customers buying again)")  # type: ignore[attr-defined]
        axis.figure.colorbar(image)  # type: ignore[attr-defined]

    totals = weekly.select(
        pl.col("revenue").sum(), pl.col("orders").sum(), pl.col("units").sum()
    ).row(0)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Omniretail report</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 6px}}
img{{max-width:100%}}</style></head><body>
<h1>Sales report</h1><p>Generated {date.today().isoformat()} from {tx.height:,} order lines.
Net revenue {totals[0]:,.0f} GBP in {totals[1]:,} orders ({totals[2]:,} units).
Cancelled sales are netted out at the sale they reverse.</p>
<h2>Revenue</h2>{_chart(revenue)}
<h2>Orders, new and returning customers</h2>{_chart(orders)}
<h2>Cancellations</h2>{_chart(cancellations)}
<h2>Cohort retention</h2>{_chart(retention)}
<h2>Seasonal best-sellers (units)</h2>{_table(sellers)}
<h2>Weekly figures by channel</h2>{_table(weekly)}
</body></html>"""
    path = out / "index.html"
    path.write_text(page)
    return path
