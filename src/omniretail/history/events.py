"""Past-tense history events (``omniretail.history.*`` in the outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from omniretail.history.schemas import ImportReport
from omniretail.kernel.events import Event


@dataclass(frozen=True, kw_only=True)
class HistoryImported(Event):
    """A transaction log was imported (``omniretail import``, the demo); the fields are the
    import report (``history.schemas.ImportReport``), also when the log had been imported
    before and nothing was written."""

    type: ClassVar[str] = "history.imported"
    subject_template: ClassVar[str] = "history/{source}"
    source: str
    sha256: str
    backend: str
    rows_read: int
    rows_kept: int
    rows_set_aside: dict[str, int]
    stock_codes_read: int
    stock_codes_merged: int
    invoices: int
    orders_by_kind: dict[str, int]
    order_lines: int
    product_lines: int
    charge_lines: int
    non_product_codes: list[dict[str, Any]]
    skus: int
    skus_without_description: int
    customers: int
    countries: int
    guest_lines: int
    price_not_positive_lines: int
    negative_quantity_lines: int
    negative_quantity_sale_lines: int
    duplicate_lines: int
    missing_description_lines: int
    local_times_adjusted: int
    cancellations: dict[str, int]
    created: dict[str, int]
    elapsed_seconds: float
    shift_years: int = 0
    shift_days: int = 0
    first_day: str | None = None  # ISO date, as imported (after the shift)
    last_day: str | None = None

    @classmethod
    def of(cls, report: ImportReport) -> HistoryImported:
        return cls(**report.model_dump(mode="json"))
