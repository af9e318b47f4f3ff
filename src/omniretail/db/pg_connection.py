"""The psycopg connection and cursor the PostgreSQL engines open (``db.engine``): psycopg's
own, less two costs measured on the checkout flow (docs/performance.md)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any, overload

import psycopg
from psycopg import Column, pq

_ROLLBACK_FROM = (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)
_RESULT_SETS = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK)


class Description(Sequence[Column]):
    """``cursor.description`` whose ``Column`` objects are built when first read.

    SQLAlchemy reads the description of every result but, for a statement whose result
    columns it has cached, only to see that it is not None: psycopg built a ``Column`` a
    column a result all the same (about 4 % of the API's CPU on the checkout flow). The
    result is captured, so a description read after the cursor moved on is still this
    result's."""

    __slots__ = ("_columns", "_count", "_source")

    def __init__(self, cursor: psycopg.Cursor[Any], result: pq.abc.PGresult) -> None:
        # what Column reads of a cursor, frozen at this result
        self._source = SimpleNamespace(
            pgresult=result, _encoding=cursor.connection.info.encoding, adapters=cursor.adapters
        )
        self._count = result.nfields
        self._columns: list[Column] | None = None

    def _built(self) -> list[Column]:
        if self._columns is None:
            source: Any = self._source
            self._columns = [Column(source, i) for i in range(self._count)]
        return self._columns

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Column: ...

    @overload
    def __getitem__(self, index: slice) -> list[Column]: ...

    def __getitem__(self, index: int | slice) -> Column | list[Column]:
        return self._built()[index]

    def __iter__(self) -> Iterator[Column]:
        return iter(self._built())


class DescribesLazily(psycopg.Cursor[Any]):
    @property
    def description(self) -> Description | None:  # type: ignore[override]
        result = self.pgresult
        if result is None or not (result.nfields or result.status in _RESULT_SETS):
            return None
        return Description(self, result)


class KeepsPreparedStatements(psycopg.Connection[Any]):
    """A psycopg connection whose ``rollback()`` keeps its prepared statements, and whose
    cursors describe their results lazily (``DescribesLazily``).

    psycopg forgets its prepared statements on ROLLBACK (``DEALLOCATE ALL``, in case the
    transaction dropped what they use), so every request answered with an error after its
    first statement (a sold-out line, a conflict) cost its connection every warm statement:
    each sent unprepared again, planned again, prepared again. Prepared statements outlive a
    rollback on the server, and the application's transactions never change the schema
    (migrations run on their own connections; a DROP or ALTER still clears the cache, as
    psycopg does). Measured: a 20-client checkout run planned 12,500 statements with
    psycopg's rollback, 5,000 with this one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_factory = DescribesLazily

    def rollback(self) -> None:
        if (
            self.pgconn.transaction_status not in _ROLLBACK_FROM
            or self.pgconn.pipeline_status != pq.PipelineStatus.OFF
            # psycopg's own transaction blocks and two-phase commits keep psycopg's checks
            or getattr(self, "_num_transactions", False)
            or getattr(self, "_tpc", None)
        ):
            super().rollback()
            return
        with self.lock:
            # PQexec blocks even on a nonblocking connection: one short round trip
            result = self.pgconn.exec_(b"ROLLBACK")
        if result.status != pq.ExecStatus.COMMAND_OK:
            message = result.error_message or b"ROLLBACK failed"
            raise psycopg.OperationalError(message.decode("utf-8", "replace"))
