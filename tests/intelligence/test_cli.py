"""The command-line contract (forecast, recommend, clv: exact CSV columns and shapes) and
``report --out DIR``, on a synthetic history imported into SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import polars as pl
from typer.testing import CliRunner

from omniretail.commands.main import app
from tests.intelligence.helpers import (
    A_ONLY,
    AS_OF,
    GONE,
    LOYAL,
    SLOW,
    STEADY,
    A,
    B,
    cli_env,
    customer_ids,
    import_synthetic,
)


def run(container, tmp_path, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=cli_env(container, tmp_path))
    assert result.exit_code == 0, result.output
    return result.output


def read(path) -> pl.DataFrame:
    """The CSV as text, exactly as a script would see it."""
    return pl.read_csv(path, infer_schema=False)


def test_the_contract_commands_write_their_csv_shapes(container, tmp_path):
    import_synthetic(container, tmp_path)
    numbers = sorted(customer_ids(container))
    start = AS_OF.isoformat()
    forecast_csv, recommend_csv, clv_csv = (tmp_path / f"{n}.csv" for n in ("f", "r", "c"))

    output = run(
        container,
        tmp_path,
        "forecast",
        "--start",
        start,
        "--weeks",
        "3",
        "--out",
        str(forecast_csv),
    )
    run(container, tmp_path, "recommend", "--k", "2", "--out", str(recommend_csv))
    run(container, tmp_path, "clv", "--start", start, "--weeks", "12", "--out", str(clv_csv))

    assert "loaded" in output and "wrote" in output  # progress
    forecast = read(forecast_csv)
    assert forecast.columns == ["sku", "period_start", "quantity"]
    skus = sorted(forecast["sku"].unique())
    assert skus == ["10001", "10002", "10003", "10004", "20001", "20002"]
    assert forecast.height == len(skus) * 3  # one row per SKU and period
    periods = [(AS_OF + timedelta(weeks=i)).isoformat() for i in range(3)]
    for sku in skus:
        assert forecast.filter(pl.col("sku") == sku)["period_start"].to_list() == periods
    quantity = forecast["quantity"].cast(pl.Float64)
    assert quantity.min() >= 0
    by_sku = dict(
        forecast.filter(pl.col("period_start") == start).select("sku", "quantity").iter_rows()
    )
    assert 9.0 < float(by_sku[STEADY]) < 11.0
    assert float(by_sku[GONE]) == 0.0  # discontinued

    recommend = read(recommend_csv)
    assert recommend.columns == ["customer_id", "rank", "sku"]
    assert all(re.fullmatch(r"\d+", c) for c in recommend["customer_id"])
    assert sorted(int(c) for c in recommend["customer_id"].unique()) == numbers
    ranks = recommend.group_by("customer_id").agg(pl.col("rank").cast(pl.Int64).sort())
    assert all(r.to_list() == [1, 2] for r in ranks["rank"])
    first = recommend.filter((pl.col("customer_id") == str(A_ONLY)) & (pl.col("rank") == "1"))
    assert first["sku"].to_list() == [A]

    clv = read(clv_csv)
    assert clv.columns == ["customer_id", "expected_revenue", "p_alive"]
    assert sorted(int(c) for c in clv["customer_id"]) == numbers  # one row each
    values = clv.with_columns(pl.col("expected_revenue", "p_alive").cast(pl.Float64))
    assert values["expected_revenue"].min() >= 0
    assert values["p_alive"].min() >= 0 and values["p_alive"].max() <= 1
    revenue = dict(values.select("customer_id", "expected_revenue").iter_rows())
    assert revenue[str(LOYAL)] > revenue[str(A_ONLY)]


def test_report_writes_a_self_contained_html_page_with_charts(container, tmp_path):
    import_synthetic(container, tmp_path)
    out = tmp_path / "report"

    run(container, tmp_path, "report", "--out", str(out))

    page = (out / "index.html").read_text()
    for heading in (
        "<h1>Sales report</h1>",
        "<h2>Revenue</h2>",
        "<h2>Orders, new and returning customers</h2>",
        "<h2>Cancellations</h2>",
        "<h2>Cohort retention</h2>",
        "<h2>Seasonal best-sellers (units)</h2>",
        "<h2>Weekly figures by channel</h2>",
    ):
        assert heading in page
    charts = re.findall(r'<img alt="chart" src="data:image/png;base64,([^"]+)">', page)
    assert len(charts) == 4
    assert all(base64.b64decode(c).startswith(b"\x89PNG\r\n\x1a\n") for c in charts)
    assert 'src="http' not in page  # nothing fetched from elsewhere
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]


def test_recommend_new_only_lists_only_products_the_customer_has_not_bought(container, tmp_path):
    import_synthetic(container, tmp_path)
    out = tmp_path / "new.csv"

    run(container, tmp_path, "recommend", "--k", "2", "--new-only", "--out", str(out))

    new = read(out)
    assert new.columns == ["customer_id", "rank", "sku"]
    assert sorted(int(c) for c in new["customer_id"].unique()) == sorted(customer_ids(container))
    a_only = new.filter(pl.col("customer_id") == str(A_ONLY))["sku"].to_list()
    assert B in a_only and A not in a_only  # B goes with A; A was bought already
    loyal = new.filter(pl.col("customer_id") == str(LOYAL))["sku"].to_list()
    assert STEADY not in loyal and SLOW not in loyal


def test_recommend_new_slots_keeps_the_last_places_for_products_new_to_the_customer(
    container, tmp_path
):
    import_synthetic(container, tmp_path)
    out = tmp_path / "slots.csv"

    run(container, tmp_path, "recommend", "--k", "3", "--new-slots", "1", "--out", str(out))

    lists = read(out)
    assert lists.columns == ["customer_id", "rank", "sku"]
    loyal = lists.filter(pl.col("customer_id") == str(LOYAL)).sort("rank")
    assert loyal["rank"].to_list() == ["1", "2", "3"]
    assert sorted(loyal["sku"][:2]) == sorted([STEADY, SLOW])  # its own two products first
    assert loyal["sku"][2] not in (STEADY, SLOW)  # then one it has never bought
