"""CSV downloads of HQ tables: the current filters, streamed page by page (each page read in
its own unit of work, so no connection is held while the client downloads).

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return) as a formula, so such text cells get a leading apostrophe (OWASP, "CSV injection").
Numbers are written as numbers: ``-3`` is a quantity, not a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import StreamingResponse

from omniretail.api.downloads import attachment
from omniretail.db.uow import UnitOfWork
from omniretail.web.deps import read

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PAGE = 500
# The most rows one download carries (the tables page through far more on screen).
MAX_ROWS = 100_000


def cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingResponse:
    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in rows:
            writer.writerow([cell(v) for v in row])
            if buffer.tell() > 16_384:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        generate(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": attachment(filename),
            "Cache-Control": "no-store",
        },
    )


def paged(
    request: Request,
    fetch: Callable[[UnitOfWork, int, int], Sequence[Any]],
    *,
    page: int = PAGE,
) -> Iterator[Any]:
    """Every item ``fetch(uow, offset, limit)`` gives, a page per unit of work."""
    offset = 0
    while offset < MAX_ROWS:
        items = read(request, partial(_page_of, fetch, offset, page))
        yield from items
        if len(items) < page:
            return
        offset += page


def _page_of(
    fetch: Callable[[UnitOfWork, int, int], Sequence[Any]],
    offset: int,
    limit: int,
    uow: UnitOfWork,
) -> Sequence[Any]:
    return fetch(uow, offset, limit)


def csv_link(path: str, **filters: Any) -> str:
    """The download of the table at ``path`` with these filters (empty ones left out)."""
    kept = {k: v for k, v in filters.items() if v not in (None, "")}
    kept["format"] = "csv"
    return f"{path}?{urlencode(kept)}"
