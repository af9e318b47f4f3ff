"""Reading a transaction log in the Online Retail II layout: parquet, CSV or an XLSX workbook.

``read_log`` returns the eight source columns with fixed types, a ``row`` position and a
``set_aside`` reason (null for rows that can be imported). Nothing here touches a database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from fastexcel import FastExcelError

from omniretail.history.errors import HistoryFileNotFound, InvalidHistoryFile

COLUMNS = (
    "Invoice",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "Price",
    "Customer ID",
    "Country",
)
# The parquet layout of the shared data set, which the workbook conversion also produces.
SCHEMA: dict[str, Any] = {
    "Invoice": pl.String,
    "StockCode": pl.String,
    "Description": pl.String,
    "Quantity": pl.Int32,
    "InvoiceDate": pl.Datetime("us"),
    "Price": pl.Float64,
    "Customer ID": pl.Int64,
    "Country": pl.String,
}
TEXT_COLUMNS = {"Invoice": pl.String, "StockCode": pl.String, "Description": pl.String}
INVOICE_NUMBER = r"^[CA]?\d{1,39}$"  # orders.number holds 40 characters
MAX_CODE_LENGTH = 40
INT32_MAX = 2**31 - 1


def read_log(path: Path) -> pl.DataFrame:
    """The log's rows with typed columns, ``row`` (0-based position) and ``set_aside``.

    Raises ``HistoryFileNotFound`` or ``InvalidHistoryFile`` (unknown format, unreadable file,
    missing columns, no row that can be imported) before anything is imported."""
    if not path.is_file():
        raise HistoryFileNotFound(f"no transaction log at {path}", field="path")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            _require_columns(path, list(pl.read_parquet_schema(path)))
            frame = pl.read_parquet(path, columns=list(COLUMNS))
        elif suffix == ".csv":
            frame = pl.read_csv(path, infer_schema=False)
        elif suffix in (".xlsx", ".xlsm"):
            frame = read_workbook(path)
        else:
            raise InvalidHistoryFile(
                f"{path.name}: unknown format {suffix or '(no extension)'!r};"
                " expected .parquet, .csv or .xlsx",
                field="path",
            )
    except (pl.exceptions.PolarsError, FastExcelError, OSError, ValueError) as exc:
        if isinstance(exc, InvalidHistoryFile):
            raise
        raise InvalidHistoryFile(f"{path.name} cannot be read: {exc}", field="path") from exc
    _require_columns(path, frame.columns)
    if frame.height == 0:
        raise InvalidHistoryFile(f"{path.name} holds no rows", field="path")
    log = typed(frame.select(COLUMNS))
    reasons = log["set_aside"].drop_nulls().value_counts()
    if reasons["count"].sum() == log.height:
        counted = sorted(reasons.iter_rows(), key=lambda r: (-r[1], r[0]))
        counts = ", ".join(f"{why} ({n})" for why, n in counted)
        raise InvalidHistoryFile(
            f"none of the {log.height} rows of {path.name} can be imported: {counts}",
            field="path",
        )
    return log


def read_workbook(source: Path | bytes) -> pl.DataFrame:
    """All sheets of an Online Retail II workbook, one after the other.

    The UCI workbook's sheets overlap (2010-12-01 to 2010-12-09 is in both "Year 2009-2010" and
    "Year 2010-2011"), so each sheet is cut where the next one starts."""
    sheets = pl.read_excel(
        source, sheet_id=0, engine="calamine", schema_overrides=TEXT_COLUMNS, raise_if_empty=False
    )
    frames = [sheet for sheet in sheets.values() if sheet.height]
    for name, sheet in sheets.items():
        missing = [c for c in COLUMNS if c not in sheet.columns]
        if sheet.height and missing:
            raise InvalidHistoryFile(
                f"sheet {name!r} lacks the column(s) {', '.join(missing)}", field="path"
            )
    if not frames:
        return pl.DataFrame(schema=SCHEMA)
    typed_frames = [typed(f.select(COLUMNS)).drop("row", "set_aside") for f in frames]
    kept = []
    for sheet, following in zip(typed_frames, [*typed_frames[1:], None], strict=True):
        if following is not None:
            starts = following["InvoiceDate"].min()
            if starts is not None:
                sheet = sheet.filter(pl.col("InvoiceDate") < starts)
        kept.append(sheet)
    return pl.concat(kept).cast(pl.Schema(SCHEMA))


def _require_columns(path: Path, columns: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise InvalidHistoryFile(
            f"{path.name} lacks the column(s) {', '.join(missing)}; a transaction log in the"
            f" Online Retail II layout has {', '.join(COLUMNS)}",
            field="path",
            missing=missing,
        )


def typed(frame: pl.DataFrame) -> pl.DataFrame:
    """Casts the eight columns (from text, numbers or dates) and states why a row is set aside.

    A value that is present but cannot be read makes the row "unreadable <column>"; a missing
    required value makes it "missing <column>". Customer ID may be missing (a guest)."""
    schema = frame.schema
    source = frame.with_row_index("row").with_columns(
        *(pl.col(c).cast(pl.String) for c in ("Invoice", "StockCode", "Country")),
        *(_present(schema[c], c).alias(f"has {c}") for c in PARSED),
    )
    cast = source.with_columns(
        pl.col("Description").cast(pl.String),
        _integer(schema["Quantity"], "Quantity"),
        _datetime(schema["InvoiceDate"], "InvoiceDate"),
        _float(schema["Price"], "Price"),
        _integer(schema["Customer ID"], "Customer ID"),
    )
    checks = [
        (_blank("Invoice"), "missing invoice number"),
        (
            ~pl.col("Invoice").str.strip_chars().str.contains(INVOICE_NUMBER),
            "unrecognised invoice number",
        ),
        (_blank("StockCode"), "missing stock code"),
        (
            pl.col("StockCode").str.strip_chars().str.len_chars() > MAX_CODE_LENGTH,
            "stock code too long",
        ),
        *_parse_checks("InvoiceDate", "invoice date"),
        *_parse_checks("Quantity", "quantity"),
        (pl.col("Quantity").abs() > INT32_MAX, "unreadable quantity"),
        (pl.col("Quantity") == 0, "zero quantity"),
        *_parse_checks("Price", "price"),
        (~pl.col("Price").is_finite() | (pl.col("Price").abs() >= 1e10), "unreadable price"),
        (pl.col("has Customer ID") & pl.col("Customer ID").is_null(), "unreadable customer id"),
        (pl.col("Customer ID").abs() > INT32_MAX, "unreadable customer id"),
    ]
    reason = pl.lit(None, dtype=pl.String)
    # Built from the last check to the first, so that the first failing check names the row.
    for condition, why in reversed(checks):
        reason = pl.when(condition.fill_null(False)).then(pl.lit(why)).otherwise(reason)
    return cast.with_columns(
        pl.col("Quantity").clip(-INT32_MAX, INT32_MAX).cast(pl.Int32),
        set_aside=reason,
    ).select("row", *COLUMNS, "set_aside")


PARSED = ("Quantity", "InvoiceDate", "Price", "Customer ID")


def _present(dtype: Any, column: str) -> pl.Expr:
    col = pl.col(column)
    if dtype == pl.String:
        return col.is_not_null() & (col.str.strip_chars() != "")
    return col.is_not_null()


def _blank(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def _parse_checks(column: str, label: str) -> list[tuple[pl.Expr, str]]:
    present = pl.col(f"has {column}")
    return [
        (~present, f"missing {label}"),
        (present & pl.col(column).is_null(), f"unreadable {label}"),
    ]


def _integer(dtype: Any, column: str) -> pl.Expr:
    """Whole numbers from ints, integral floats ("13085.0") or text; anything else is null."""
    col = pl.col(column)
    if dtype.is_integer():
        return col.cast(pl.Int64)
    as_float = (
        col.str.strip_chars().cast(pl.Float64, strict=False)
        if dtype == pl.String
        else col.cast(pl.Float64, strict=False)
    )
    return (
        pl.when(as_float.is_finite() & (as_float == as_float.round(0)) & (as_float.abs() < 2**53))
        .then(as_float)
        .otherwise(None)
        .cast(pl.Int64)
    )


def _float(dtype: Any, column: str) -> pl.Expr:
    col = pl.col(column)
    if dtype == pl.String:
        return col.str.strip_chars().cast(pl.Float64, strict=False)
    return col.cast(pl.Float64, strict=False)


def _datetime(dtype: Any, column: str) -> pl.Expr:
    """Naive local date-times at microsecond precision (a zone-aware column is taken to UTC
    and then to UK local time, so that every source means the same)."""
    col = pl.col(column)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            col = col.dt.convert_time_zone("Europe/London").dt.replace_time_zone(None)
        return col.cast(pl.Datetime("us"))
    if dtype == pl.Date:
        return col.cast(pl.Datetime("us"))
    # ISO 8601 only: day/month order in other text forms is a guess this importer won't make.
    text = col.cast(pl.String).str.strip_chars().str.replace("T", " ", literal=True)
    return pl.coalesce(
        text.str.to_datetime(pattern, strict=False, time_unit="us")
        for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d")
    )
