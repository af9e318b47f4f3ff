"""Pydantic I/O for the history import, shared by the CLI, the demo and the outbox event."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class NonProductCodes(BaseModel):
    """Stock codes of one kind kept out of the catalog; their lines are kept as charge lines."""

    kind: str = Field(description="e.g. postage, manual, discount, gift voucher")
    codes: list[str] = Field(description="The normalised codes, sorted")
    lines: int


class CancellationLinks(BaseModel):
    """How the cancellation product lines were tied to the sale lines they reverse."""

    lines: int = Field(description="Product lines with a negative quantity on C invoices")
    linked: int = Field(description="Lines that point at an earlier sale line (cancels_line_id)")
    unmatched_no_customer: int = Field(description="Guest cancellations: nothing to match on")
    unmatched_no_sale: int = Field(
        description="No earlier sale line of that customer and SKU with at least that quantity"
    )


class Created(BaseModel):
    """Rows written by this run; all zero when the same log was imported before."""

    products: int = 0
    skus: int = 0
    customers: int = 0
    orders: int = 0
    order_lines: int = 0
    cancellation_links: int = 0


class ImportReport(BaseModel):
    """What an import read, kept, set aside and wrote.

    Every row that is kept becomes one order line. The counts of quirks (guest lines, price
    <= 0, duplicates...) describe kept rows: they are reported, not dropped."""

    source: str = Field(description="File name of the transaction log")
    sha256: str
    backend: str
    rows_read: int
    rows_kept: int
    rows_set_aside: dict[str, int] = Field(
        description="Rows left out, by reason (missing or unreadable values)"
    )
    stock_codes_read: int = Field(description="Distinct stock codes as spelt in the source")
    stock_codes_merged: int = Field(
        description="Spellings that differ only in case or spaces from another (e.g. 85123a)"
    )
    invoices: int
    orders_by_kind: dict[str, int]
    order_lines: int
    product_lines: int
    charge_lines: int
    non_product_codes: list[NonProductCodes]
    skus: int
    skus_without_description: int
    customers: int
    countries: int
    guest_lines: int = Field(description="Lines without a customer, kept on guest orders")
    price_not_positive_lines: int = Field(description="Lines with price <= 0, kept")
    negative_quantity_lines: int
    negative_quantity_sale_lines: int = Field(
        description="Negative quantities on sale invoices (stock write-offs), kept"
    )
    duplicate_lines: int = Field(
        description="Rows identical to an earlier row, kept as separate lines of their invoice"
    )
    missing_description_lines: int
    local_times_adjusted: int = Field(
        description="Invoice times that fall in a daylight-saving gap or overlap"
    )
    cancellations: CancellationLinks
    created: Created
    shift_years: int = Field(default=0, description="Years the invoice dates were moved forward")
    shift_days: int = Field(
        default=0, description="The same shift in days: whole weeks, so weekdays are kept"
    )
    first_day: date | None = Field(default=None, description="First invoice day, as imported")
    last_day: date | None = Field(default=None, description="Last invoice day, as imported")
    elapsed_seconds: float = 0.0
