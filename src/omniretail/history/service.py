"""History use cases: import a transaction log, and read the demand it records.

Services never commit; the caller's unit of work does, so an import is all or nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownChannel
from omniretail.catalog.schemas import ChannelKind, ChannelWrite
from omniretail.db.outbox import list_events
from omniretail.db.uow import UnitOfWork
from omniretail.history import repository, source
from omniretail.history.events import HistoryImported
from omniretail.history.prepare import prepare
from omniretail.history.schemas import Created, ImportReport
from omniretail.history.shift import Shift, date_range, shift_by_years, shift_to_recent, shifted

# Re-exported for the demo, which reads the bundled workbook.
from omniretail.history.source import read_workbook as read_workbook
from omniretail.kernel.events import EVENT_TYPE_PREFIX
from omniretail.orders.service import OrderStatus

# The phases an import reports, in order (a progress bar has one step per phase).
PHASES = ("read", "prepare", "catalog", "customers", "orders", "order lines", "cancellations")
HISTORY_CHANNEL = "WEB"
CURRENCY = "GBP"

PhaseCallback = Callable[[str], None]


def import_history(
    uow: UnitOfWork,
    path: Path,
    *,
    actor: str,
    shift_years: int | None = 0,
    on_phase: PhaseCallback | None = None,
) -> ImportReport:
    """Loads the log at ``path``; importing the same log again writes nothing new.

    ``shift_years`` moves every invoice forward by that many years rounded to whole weeks
    (``history.shift``); ``None`` picks the shift that ends the log within the year before
    today (the demo's default); 0 keeps the original dates.
    Bad input (missing file or columns, unknown format, no rows) raises before any write."""
    started = time.perf_counter()
    step = on_phase or (lambda _phase: None)
    step("read")
    log = source.read_log(path)
    digest = _sha256(path)
    first_day, last_day = date_range(log)
    if last_day is None or first_day is None or shift_years == 0:
        shift = Shift(0, 0)
    elif shift_years is None:
        shift = shift_to_recent(last_day, uow.now.date())
    else:
        shift = shift_by_years(last_day, shift_years)
    log = shifted(log, shift)
    step("prepare")
    history = prepare(log)
    session = uow.session
    _ensure_channel(uow)
    step("catalog")
    new_products, new_skus = repository.insert_catalog(session, history.skus, uow.now)
    step("customers")
    new_customers = repository.insert_customers(session, history.customers)
    step("orders")
    new_orders = repository.insert_orders(
        session,
        history.orders,
        status=OrderStatus.COMPLETED.value,
        channel=HISTORY_CHANNEL,
        currency=CURRENCY,
    )
    step("order lines")
    new_lines = repository.insert_order_lines(session, history.lines)
    step("cancellations")
    new_links = repository.link_cancellations(session, history.links)
    report = ImportReport(
        source=path.name,
        sha256=digest,
        backend=session.get_bind().dialect.name,
        **history.facts,
        created=Created(
            products=new_products,
            skus=new_skus,
            customers=new_customers,
            orders=new_orders,
            order_lines=new_lines,
            cancellation_links=new_links,
        ),
        shift_years=shift.years,
        shift_days=shift.days,
        first_day=shift.apply(first_day) if first_day else None,
        last_day=shift.apply(last_day) if last_day else None,
        elapsed_seconds=round(time.perf_counter() - started, 2),
    )
    uow.record(HistoryImported.of(report))
    return report


def find_import(uow: UnitOfWork, sha256: str) -> ImportReport | None:
    """The report of an earlier import of the file with this digest, if there was one."""
    after = 0
    found: ImportReport | None = None
    while True:
        batch = list_events(
            uow.session,
            after=after,
            limit=500,
            type_prefix=EVENT_TYPE_PREFIX + "history.imported",
        )
        for message in batch:
            if message.data.get("sha256") == sha256:
                found = ImportReport.model_validate(message.data)
            after = message.position
        if len(batch) < 500:
            return found


def weekly_demand(uow: UnitOfWork, *, weeks: int = 12) -> dict[str, float]:
    """Units per week per SKU over the last ``weeks`` weeks of the sale history."""
    return dict(repository.weekly_demand(uow.session, weeks=weeks))


def typical_line_quantities(uow: UnitOfWork, skus: list[str]) -> dict[str, int]:
    """How many units of each SKU a sale line of the history held most often."""
    return repository.typical_line_quantities(uow.session, skus)


def table_counts(uow: UnitOfWork) -> dict[str, int]:
    return repository.count_rows(uow.session)


def file_sha256(path: Path) -> str:
    return _sha256(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ensure_channel(uow: UnitOfWork) -> None:
    """The history's orders are web orders; the channel is created (without locations) if the
    network does not have it yet."""
    try:
        catalog.get_channel(uow, HISTORY_CHANNEL)
    except UnknownChannel:
        catalog.save_channel(
            uow, ChannelWrite(code=HISTORY_CHANNEL, name="Web shop", kind=ChannelKind.WEB)
        )
