"""A small synthetic order history with known demand, imported through the history importer,
and a two-location network (warehouse DC1, store LON1) for the replenishment tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from omniretail.bootstrap import Container
from omniretail.catalog import service as catalog
from omniretail.catalog.models import ChannelKind, LocationKind
from omniretail.catalog.schemas import Capabilities, ChannelWrite, LocationWrite
from omniretail.customers.models import Customer
from omniretail.db.outbox import OutboxMessage
from omniretail.history import service as history
from omniretail.inventory import service as inventory
from omniretail.inventory.models import StockLevel
from omniretail.inventory.schemas import StockChange
from tests.history.logs import quirky_frame, write_log

START = date(2010, 1, 4)  # a Monday
WEEKS = 30
LAST_DAY = START + timedelta(weeks=WEEKS - 1)
AS_OF = LAST_DAY + timedelta(days=1)  # what the batch and the CLI default to
UK = "United Kingdom"

STEADY = "10001"  # 5 and 15 in turn every week: mean 10, spread 5
SLOW = "10003"  # 4 a week
GONE = "10002"  # sold in the first five weeks only: discontinued
A, B = "20001", "20002"  # bought together by five customers
BACKGROUND = "10004"

LOYAL = 1001  # buys STEADY and SLOW every week
PAIRS = [1003, 1004, 1005, 1006, 1007]  # bought A with B
A_ONLY = 1008  # bought A alone: should be offered B
OTHERS = list(range(1010, 1020))


def _at(week: int, days: int = 0, hour: int = 10) -> datetime:
    day = START + timedelta(weeks=week, days=days)
    return datetime(day.year, day.month, day.day, hour)


def synthetic_rows() -> list[tuple[Any, ...]]:
    """(Invoice, StockCode, Description, Quantity, InvoiceDate, Price, Customer ID, Country)."""
    rows: list[tuple[Any, ...]] = []
    for week in range(WEEKS):
        invoice = f"5{week:04d}"
        rows.append((invoice, STEADY, "STEADY", 5 if week % 2 else 15, _at(week), 1.0, LOYAL, UK))
        rows.append((invoice, SLOW, "SLOW", 4, _at(week), 2.0, LOYAL, UK))
    for week in range(5):
        rows.append((f"6{week:04d}", GONE, "GONE", 10, _at(week, 2), 1.5, 1002, UK))
    for customer in PAIRS:
        invoice = f"7{customer}"
        rows.append((invoice, A, "A", 1, _at(20, 1), 3.0, customer, UK))
        rows.append((invoice, B, "B", 1, _at(20, 1), 3.0, customer, UK))
    rows.append((f"7{A_ONLY}", A, "A", 1, _at(20, 2), 3.0, A_ONLY, UK))
    # a bulk order cancelled the next day is not demand
    rows.append(("80001", STEADY, "STEADY", 5000, _at(27, 2), 1.0, 1009, UK))
    rows.append(("C80002", STEADY, "STEADY", -5000, _at(27, 3), 1.0, 1009, UK))
    for n, customer in enumerate(OTHERS):
        for week in range(n % 3, WEEKS - 3, 3 + n % 4):
            rows.append(
                (f"9{customer}{week:02d}", BACKGROUND, "BG", 2, _at(week, 3), 1.0, customer, UK)
            )
    return rows


def import_synthetic(container: Container, tmp_path: Path) -> Path:
    path = write_log(tmp_path / "synthetic.parquet", quirky_frame(synthetic_rows()))
    with container.uow() as uow:
        history.import_history(uow, path, actor="test")
    return path


def make_network(container: Container) -> None:
    """Warehouse DC1 and store LON1, both serving the web channel the history belongs to."""
    with container.uow() as uow:
        for code, kind in (("DC1", LocationKind.WAREHOUSE), ("LON1", LocationKind.STORE)):
            catalog.save_location(
                uow,
                LocationWrite(
                    code=code,
                    name=code,
                    kind=kind,
                    latitude=51.5,
                    longitude=-0.1,
                    capabilities=Capabilities(ships_to_home=True),
                ),
            )
        catalog.save_channel(
            uow,
            ChannelWrite(
                code="WEB", name="Web shop", kind=ChannelKind.WEB, location_codes=["DC1", "LON1"]
            ),
        )


def receive(container: Container, sku: str, location: str, quantity: int) -> None:
    with container.uow() as uow:
        inventory.receive_stock(
            uow, StockChange(sku=sku, location=location, quantity=quantity), actor="test"
        )


def customer_ids(container: Container) -> dict[int, int]:
    """customer number -> customers.id"""
    with container.read_uow() as uow:
        rows = uow.session.execute(select(Customer.customer_number, Customer.id)).all()
    return {number: id_ for number, id_ in rows if number is not None}


def levels(container: Container) -> dict[tuple[str, str], tuple[int, int, int | None, int | None]]:
    """(sku, location) -> (on_hand, safety_stock, reorder_point, order_up_to)"""
    with container.read_uow() as uow:
        return {
            (r.sku_code, r.location_code): (
                r.on_hand,
                r.safety_stock,
                r.reorder_point,
                r.order_up_to,
            )
            for r in uow.session.scalars(select(StockLevel))
        }


def events(container: Container, kind: str) -> list[dict[str, Any]]:
    """``data`` (with ``subject``) of outbox events of this type, oldest first."""
    with container.read_uow() as uow:
        rows = uow.session.execute(
            select(OutboxMessage.subject, OutboxMessage.data)
            .where(OutboxMessage.type == kind)
            .order_by(OutboxMessage.position)
        ).all()
    return [{"subject": subject, **data} for subject, data in rows]


def cli_env(container: Container, tmp_path: Path) -> dict[str, str | None]:
    """The environment that points the CLI at the test's database."""
    settings = container.settings
    env: dict[str, str | None] = {
        "OMNIRETAIL_DATA_DIR": str(tmp_path / "cli-data"),
        "OMNIRETAIL_DATA": None,
        "OMNIRETAIL_DATABASE_URL": settings.resolved_database_url(),
        "OMNIRETAIL_DATABASE_SCHEMA": settings.database_schema,
    }
    return env
