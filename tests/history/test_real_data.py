"""The shared Online Retail II file, checked against the figures its README states."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from omniretail.customers.models import Customer
from omniretail.history import service
from omniretail.orders.models import Order, OrderLine

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
LOG = SHARED / "online_retail_ii_2009_2010.parquet"

# From ../shared/data/README.md
ROWS = 502_938
INVOICES = 27_728
CANCELLATION_LINES, CANCELLATION_INVOICES = 9_877, 4_456
ADJUSTMENT_INVOICES = 3
CUSTOMERS = 4_336
STOCK_CODES = 4_622
COUNTRIES = 40
GUEST_LINES = 100_207
MISSING_DESCRIPTIONS = 2_821
PRICE_NOT_POSITIVE = 3_512
NEGATIVE_QUANTITIES, NEGATIVE_ON_NON_C_INVOICES = 11_933, 2_057
DUPLICATES = 6_544


@pytest.mark.slow
@pytest.mark.skipif(not LOG.is_file(), reason=f"shared data file absent: {LOG}")
def test_the_shared_log_imports_with_the_readme_figures(container):
    with container.uow() as uow:
        report = service.import_history(uow, LOG, actor="test")

    # Every row of the file is readable, so every row is one order line.
    assert (report.rows_read, report.rows_kept, report.rows_set_aside) == (ROWS, ROWS, {})
    assert report.invoices == INVOICES
    assert report.orders_by_kind == {
        "adjustment": ADJUSTMENT_INVOICES,
        "cancellation": CANCELLATION_INVOICES,
        "sale": INVOICES - CANCELLATION_INVOICES - ADJUSTMENT_INVOICES,
    }
    assert report.customers == CUSTOMERS
    assert report.stock_codes_read == STOCK_CODES
    assert report.countries == COUNTRIES
    assert report.guest_lines == GUEST_LINES
    assert report.missing_description_lines == MISSING_DESCRIPTIONS
    assert report.price_not_positive_lines == PRICE_NOT_POSITIVE
    assert report.negative_quantity_lines == NEGATIVE_QUANTITIES
    # The A invoices have positive quantities, so the non-C invoices' negatives are on sales.
    assert report.negative_quantity_sale_lines == NEGATIVE_ON_NON_C_INVOICES
    assert report.duplicate_lines == DUPLICATES
    assert report.product_lines + report.charge_lines == ROWS
    # Each source spelling is a SKU, a non-product code, or merged into another by case/space.
    non_product_codes = sum(len(group.codes) for group in report.non_product_codes)
    assert report.skus + non_product_codes + report.stock_codes_merged == STOCK_CODES
    links = report.cancellations
    assert links.linked + links.unmatched_no_customer + links.unmatched_no_sale == links.lines
    assert report.created.orders == INVOICES
    assert report.created.order_lines == ROWS
    assert report.created.customers == CUSTOMERS
    assert report.created.cancellation_links == links.linked

    with container.read_uow() as uow:
        session = uow.session
        count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
        assert count(Order) == INVOICES
        assert count(OrderLine) == ROWS
        assert count(Customer) == CUSTOMERS
        cancellation_lines = session.scalar(
            select(func.count())
            .select_from(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.kind == "cancellation")
        )
        assert cancellation_lines == CANCELLATION_LINES
        # Every link names an earlier sale line of the same customer and SKU that covers it.
        sale_line, sale = OrderLine.__table__.alias("s"), Order.__table__.alias("so")
        valid = session.scalar(
            select(func.count())
            .select_from(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .join(sale_line, sale_line.c.id == OrderLine.cancels_line_id)
            .join(sale, sale.c.id == sale_line.c.order_id)
            .where(
                sale.c.kind == "sale",
                sale.c.customer_id == Order.customer_id,
                sale_line.c.sku_code == OrderLine.sku_code,
                sale_line.c.quantity >= -OrderLine.quantity,
                sale.c.placed_at <= Order.placed_at,
            )
        )
        assert valid == links.linked
