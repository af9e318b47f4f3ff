from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from omniretail.bootstrap import Container
from omniretail.catalog.models import Channel, Product, Sku
from omniretail.commands.main import app
from omniretail.customers.models import Customer
from omniretail.db.outbox import OutboxMessage
from omniretail.history import service
from omniretail.history.errors import HistoryFileNotFound, InvalidHistoryFile
from omniretail.history.schemas import ImportReport
from omniretail.orders.models import Order, OrderLine
from tests.history.logs import quirky_frame, write_log

TABLES = (Product, Sku, Customer, Order, OrderLine, Channel, OutboxMessage)


def run_import(container: Container, path: Path) -> ImportReport:
    with container.uow() as uow:
        return service.import_history(uow, path, actor="test")


def counts(container: Container) -> dict[str, int]:
    with container.read_uow() as uow:
        return {
            model.__tablename__: uow.session.scalar(select(func.count()).select_from(model)) or 0
            for model in TABLES
        }


def lines_of(container: Container, number: str) -> list[OrderLine]:
    with container.read_uow() as uow:
        return list(
            uow.session.scalars(
                select(OrderLine)
                .join(Order, Order.id == OrderLine.order_id)
                .where(Order.number == number)
                .order_by(OrderLine.line_no)
            )
        )


def test_import_loads_catalog_customers_and_orders(container, tmp_path):
    path = write_log(tmp_path / "log.parquet")

    report = run_import(container, path)

    assert report.rows_read == 19
    assert report.rows_kept == 16
    assert report.rows_set_aside == {
        "missing invoice date": 1,
        "missing stock code": 1,
        "unrecognised invoice number": 1,
    }
    assert report.stock_codes_read == 9
    assert report.stock_codes_merged == 1
    assert report.invoices == 10
    assert report.orders_by_kind == {"adjustment": 1, "cancellation": 4, "sale": 5}
    assert (report.order_lines, report.product_lines, report.charge_lines) == (16, 11, 5)
    assert [(g.kind, g.codes, g.lines) for g in report.non_product_codes] == [
        ("bad debt adjustment", ["B"], 1),
        ("discount", ["D"], 1),
        ("gift voucher", ["GIFT_0001_20"], 1),
        ("manual", ["M"], 1),
        ("postage", ["POST"], 1),
    ]
    assert (report.skus, report.skus_without_description) == (3, 0)
    assert (report.customers, report.countries) == (3, 2)
    assert report.guest_lines == 6
    assert report.price_not_positive_lines == 2
    assert (report.negative_quantity_lines, report.negative_quantity_sale_lines) == (6, 1)
    assert report.duplicate_lines == 1
    assert report.missing_description_lines == 1
    assert report.local_times_adjusted == 0
    assert report.cancellations.model_dump() == {
        "lines": 4,
        "linked": 1,
        "unmatched_no_customer": 1,
        "unmatched_no_sale": 2,
    }
    assert report.created.model_dump() == {
        "products": 3,
        "skus": 3,
        "customers": 3,
        "orders": 10,
        "order_lines": 16,
        "cancellation_links": 1,
    }
    assert counts(container) == {
        "products": 3,
        "skus": 3,
        "customers": 3,
        "orders": 10,
        "order_lines": 16,
        "channels": 1,
        "outbox": 2,  # catalog.channel_saved (WEB) and history.imported
    }


def test_imported_rows_carry_the_source_values(container, tmp_path):
    run_import(container, write_log(tmp_path / "log.parquet"))

    with container.read_uow() as uow:
        session = uow.session
        skus = {s.code: (s.name, s.price, s.attributes) for s in session.scalars(select(Sku))}
        customers = {
            c.customer_number: (c.country, c.created_at) for c in session.scalars(select(Customer))
        }
        orders = {o.number: o for o in session.scalars(select(Order))}
        channel = session.get(Channel, "WEB")
    assert skus == {
        "21733": ("damaged", None, {"source_codes": ["21733"]}),
        "22041": ("RECORD FRAME", Decimal("2.10"), {"source_codes": ["22041"]}),
        "85123A": ("WHITE HEART", Decimal("2.55"), {"source_codes": ["85123A", "85123a"]}),
    }
    assert customers == {
        12345: ("United Kingdom", datetime(2010, 1, 5, 10, 0, tzinfo=UTC)),
        12346: ("France", datetime(2010, 7, 1, 8, 30, tzinfo=UTC)),
        12347: ("United Kingdom", datetime(2010, 8, 3, 15, 0, tzinfo=UTC)),
    }
    assert channel is not None and (channel.kind, channel.name) == ("web", "Web shop")
    first = orders["100001"]
    assert (first.kind, first.status, first.channel_code, first.currency) == (
        "sale",
        "completed",
        "WEB",
        "GBP",
    )
    assert first.total == Decimal("43.500")
    assert first.placed_at == datetime(2010, 1, 5, 10, 0, tzinfo=UTC)  # GMT
    assert orders["100002"].placed_at == datetime(2010, 7, 1, 8, 30, tzinfo=UTC)  # BST
    assert orders["100003"].customer_id is None
    assert (orders["C100004"].kind, orders["C100004"].total) == ("cancellation", Decimal("-15.300"))
    assert (orders["A100008"].kind, orders["A100008"].total) == ("adjustment", Decimal("-500.000"))
    lines = [
        (ln.line_no, ln.sku_code, ln.charge_code, ln.description, ln.quantity, ln.unit_price)
        for ln in lines_of(container, "100001")
    ]
    assert lines == [
        (1, "85123A", None, "WHITE HEART", 6, Decimal("2.550")),
        (2, "85123A", None, "WHITE HEART", 4, Decimal("2.550")),
        (3, None, "POST", "POSTAGE", 1, Decimal("18.000")),
    ]
    duplicates = [(ln.line_no, ln.quantity) for ln in lines_of(container, "100002")]
    assert duplicates == [(1, 48), (2, 48)]
    assert [(ln.charge_code, ln.unit_price) for ln in lines_of(container, "A100008")] == [
        ("B", Decimal("-500.000"))
    ]


def test_cancellation_lines_point_at_the_sale_they_reverse(container, tmp_path):
    run_import(container, write_log(tmp_path / "log.parquet"))

    sale_line = lines_of(container, "100001")[0]
    assert lines_of(container, "C100004")[0].cancels_line_id == sale_line.id
    unmatched = [
        ln.cancels_line_id
        for number in ("C100006", "C100007", "C100010")
        for ln in lines_of(container, number)
    ]
    assert unmatched == [None, None, None, None]


def test_importing_the_same_log_twice_adds_nothing(container, tmp_path):
    path = write_log(tmp_path / "log.parquet")
    first = run_import(container, path)
    before = counts(container)

    second = run_import(container, path)

    assert second.created.model_dump() == {
        "products": 0,
        "skus": 0,
        "customers": 0,
        "orders": 0,
        "order_lines": 0,
        "cancellation_links": 0,
    }
    assert second.model_dump(exclude={"created", "elapsed_seconds"}) == first.model_dump(
        exclude={"created", "elapsed_seconds"}
    )
    assert counts(container) == {**before, "outbox": before["outbox"] + 1}
    assert lines_of(container, "C100004")[0].cancels_line_id == lines_of(container, "100001")[0].id


def test_the_import_is_recorded_as_an_event(container, tmp_path):
    path = write_log(tmp_path / "log.parquet")
    report = run_import(container, path)

    with container.read_uow() as uow:
        event = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.type == "omniretail.history.imported")
        ).one()
        found = service.find_import(uow, report.sha256)
    assert event.subject == "history/log.parquet"
    assert event.data == report.model_dump(mode="json")
    assert found == report


def test_a_log_without_a_required_column_is_refused_and_nothing_is_written(container, tmp_path):
    path = tmp_path / "no-price.parquet"
    quirky_frame().drop("Price").write_parquet(path)

    with pytest.raises(InvalidHistoryFile) as refused:
        run_import(container, path)

    assert refused.value.field == "path"
    assert refused.value.detail.startswith("no-price.parquet lacks the column(s) Price;")
    assert counts(container) == dict.fromkeys(
        ("products", "skus", "customers", "orders", "order_lines", "channels", "outbox"), 0
    )


def test_a_log_with_no_importable_row_is_refused(container, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
        "100001,85123A,HEART,six,2010-01-05 10:00,2.55,12345,United Kingdom\n"
        "100002,85123A,HEART,6,05/01/2010 10:00,2.55,12345,United Kingdom\n"
    )

    with pytest.raises(InvalidHistoryFile) as refused:
        run_import(container, path)

    assert refused.value.detail == (
        "none of the 2 rows of bad.csv can be imported:"
        " unreadable invoice date (1), unreadable quantity (1)"
    )
    assert counts(container)["orders"] == 0
    assert counts(container)["outbox"] == 0


def test_missing_file_and_unknown_format_are_refused(tmp_path, container):
    with pytest.raises(HistoryFileNotFound):
        run_import(container, tmp_path / "absent.parquet")
    other = tmp_path / "log.json"
    other.write_text("[]")
    with pytest.raises(InvalidHistoryFile, match=r"unknown format '\.json'"):
        run_import(container, other)
    broken = tmp_path / "log.xlsx"
    broken.write_bytes(b"not a workbook")
    with pytest.raises(InvalidHistoryFile, match=r"^log\.xlsx cannot be read: "):
        run_import(container, broken)
    assert counts(container)["outbox"] == 0


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_csv_and_xlsx_logs_read_like_parquet(tmp_path, suffix):
    from omniretail.history.source import read_log

    parquet = read_log(write_log(tmp_path / "log.parquet"))

    other = read_log(write_log(tmp_path / f"log{suffix}"))

    assert other.equals(parquet)


def test_import_command_prints_the_report_and_the_time(tmp_path):
    path = write_log(tmp_path / "log.parquet")
    db = f"sqlite:///{tmp_path / 'cli.db'}"

    result = CliRunner().invoke(app, ["import", str(path), "--db", db])
    again = CliRunner().invoke(app, ["import", str(path), "--db", db])

    assert result.exit_code == 0, result.output
    assert "rows read" in result.output and "19" in result.output
    assert "imported log.parquet into sqlite in" in result.output
    assert again.exit_code == 0, again.output


def test_import_command_explains_a_refusal(tmp_path):
    path = tmp_path / "no-price.parquet"
    quirky_frame().drop("Price").write_parquet(path)

    result = CliRunner().invoke(
        app, ["import", str(path), "--db", f"sqlite:///{tmp_path / 'x.db'}"]
    )

    assert result.exit_code == 2
    assert "import refused" in result.output
    assert "lacks the column(s) Price" in result.output


def test_workbook_sheets_are_joined_without_their_overlap(tmp_path):
    import xlsxwriter

    from omniretail.history.source import read_workbook

    frame = quirky_frame().filter(pl.col("InvoiceDate").is_not_null())
    path = tmp_path / "two-sheets.xlsx"
    with xlsxwriter.Workbook(path) as workbook:
        frame.write_excel(workbook, worksheet="Year 2009-2010")
        # The second sheet starts on 2010-07-03: earlier rows of the first sheet stay.
        frame.filter(pl.col("InvoiceDate") >= datetime(2010, 7, 3)).write_excel(
            workbook, worksheet="Year 2010-2011"
        )

    combined = read_workbook(path)

    cut = pl.col("InvoiceDate") < datetime(2010, 7, 3)
    assert combined.equals(pl.concat([frame.filter(cut), frame.filter(~cut)]))
