"""A small transaction log in the Online Retail II layout with every known quirk."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from omniretail.history.source import SCHEMA

D = datetime
UK = "United Kingdom"

# (Invoice, StockCode, Description, Quantity, InvoiceDate (UK local), Price, Customer ID, Country)
QUIRKY_ROWS: list[tuple[Any, ...]] = [
    # 1-3: a sale with a lowercase suffix spelling of the same SKU and a postage line
    ("100001", "85123A", "WHITE HEART", 6, D(2010, 1, 5, 10, 0), 2.55, 12345, UK),
    ("100001", "85123a", "WHITE HEART ", 4, D(2010, 1, 5, 10, 0), 2.55, 12345, UK),
    ("100001", "POST", "POSTAGE", 1, D(2010, 1, 5, 10, 0), 18.0, 12345, UK),
    # 4-5: summer time (BST) and an exact duplicate line
    ("100002", "22041", "RECORD FRAME", 48, D(2010, 7, 1, 9, 30), 2.10, 12346, "France"),
    ("100002", "22041", "RECORD FRAME", 48, D(2010, 7, 1, 9, 30), 2.10, 12346, "France"),
    # 6-7: a guest sale without description, with a manual line
    ("100003", "85123A", None, 12, D(2010, 7, 2, 11, 0), 2.95, None, UK),
    ("100003", "M", "Manual", 1, D(2010, 7, 2, 11, 0), 0.85, None, UK),
    # 8: cancels 100001 line 1 (the later, smaller lines cannot cover 6 units)
    ("C100004", "85123A", "WHITE HEART", -6, D(2010, 7, 3, 12, 0), 2.55, 12345, UK),
    # 9-10: a later smaller sale and a gift voucher (lowercase code)
    ("100005", "85123A", "WHITE HEART", 3, D(2010, 2, 1, 10, 0), 2.55, 12345, UK),
    ("100005", "gift_0001_20", "Gift Voucher £20", 1, D(2010, 2, 1, 10, 0), 20.0, 12345, UK),
    # 11: more than was ever sold: unmatched
    ("C100006", "22041", "RECORD FRAME", -100, D(2010, 7, 4, 9, 0), 2.10, 12346, "France"),
    # 12-13: a guest cancellation with a discount line
    ("C100007", "85123A", "WHITE HEART", -1, D(2010, 7, 4, 10, 0), 2.95, None, UK),
    ("C100007", "D", "Discount", -1, D(2010, 7, 4, 10, 0), 5.0, None, UK),
    # 14: a bad-debt adjustment
    ("A100008", "B", "Adjust bad debt", 1, D(2010, 8, 1, 14, 0), -500.0, None, UK),
    # 15: a stock write-off recorded as an invoice
    ("100009", "21733", "damaged", -10, D(2010, 8, 2, 15, 0), 0.0, None, UK),
    # 16: a customer who only ever cancelled
    ("C100010", "22041", "RECORD FRAME", -2, D(2010, 8, 3, 16, 0), 2.10, 12347, UK),
    # 17-19: rows that cannot be imported
    ("100011", None, "NO CODE", 1, D(2010, 8, 4, 10, 0), 1.0, 12345, UK),
    ("X100012", "22041", "RECORD FRAME", 1, D(2010, 8, 4, 10, 0), 2.1, 12345, UK),
    ("100013", "22041", "RECORD FRAME", 1, None, 2.1, 12345, UK),
]


def quirky_frame(rows: list[tuple[Any, ...]] | None = None) -> pl.DataFrame:
    return pl.DataFrame(QUIRKY_ROWS if rows is None else rows, schema=SCHEMA, orient="row")


def write_log(path: Path, frame: pl.DataFrame | None = None) -> Path:
    frame = quirky_frame() if frame is None else frame
    if path.suffix == ".csv":
        frame.write_csv(path)
    elif path.suffix == ".xlsx":
        frame.write_excel(path, worksheet="Year 2009-2010")
    else:
        frame.write_parquet(path)
    return path
