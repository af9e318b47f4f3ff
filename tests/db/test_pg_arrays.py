"""Array parameters on PostgreSQL (``db.pg_arrays``): every element quoted by the dumper comes
back from the server exactly as sent, whatever characters it holds and whatever its type."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import ARRAY, BigInteger, DateTime, Numeric, Text, bindparam, func, select
from sqlalchemy.exc import DataError

from omniretail.bootstrap import Container

TRICKY = [
    "plain",
    "",
    "NULL",
    "null",
    'say "hi"',
    "back\\slash",
    '\\"',
    "{braces}",
    "a,b;c",
    "  spaces  ",
    "tab\tand\nnewline",
    "\u3000ideographic space",
    "v2:k1:" + "QUJD+/=" * 600,
    '{"send_id": 1, "channel": "email"}',
]


def _round_trip(container: Container, values: list, element) -> list:
    with container.read_uow() as uow:
        column = func.unnest(bindparam("values", type_=ARRAY(element))).column_valued("v")
        return list(uow.session.scalars(select(column), {"values": values}))


def test_text_elements_come_back_as_sent(container: Container) -> None:
    if container.engine.dialect.name != "postgresql":
        pytest.skip("array parameters are PostgreSQL's")
    values = [*TRICKY, None]
    assert _round_trip(container, values, Text()) == values


def test_other_types_and_an_empty_or_null_list(container: Container) -> None:
    if container.engine.dialect.name != "postgresql":
        pytest.skip("array parameters are PostgreSQL's")
    ints = [1, None, -(2**40), 0]
    assert _round_trip(container, ints, BigInteger()) == ints
    moments = [datetime(2026, 12, 5, 13, 0, tzinfo=UTC), None]
    assert _round_trip(container, moments, DateTime(timezone=True)) == moments
    assert _round_trip(container, [Decimal("12.50")], Numeric(10, 2)) == [Decimal("12.50")]
    assert _round_trip(container, [], Text()) == []
    assert _round_trip(container, [None, None], Text()) == [None, None]


def test_lists_of_one_type_come_back_as_sent_and_a_nul_is_refused(container: Container) -> None:
    """The shortcuts for lists of strings, integers or datetimes (with NULLs or not)."""
    if container.engine.dialect.name != "postgresql":
        pytest.skip("array parameters are PostgreSQL's")
    assert _round_trip(container, TRICKY, Text()) == TRICKY
    assert _round_trip(container, ["é ü 😀", ""], Text()) == ["é ü 😀", ""]
    with_nulls = [None, "a", None, "", 'q"\\', None]
    assert _round_trip(container, with_nulls, Text()) == with_nulls
    assert _round_trip(container, [7, -(2**40), 0], BigInteger()) == [7, -(2**40), 0]
    now, later = datetime(2026, 12, 5, 13, 0, tzinfo=UTC), datetime(2026, 12, 6, tzinfo=UTC)
    moments = [now, now, later, now]
    assert _round_trip(container, moments, DateTime(timezone=True)) == moments
    with pytest.raises(DataError):  # not cut into two elements at the NUL
        _round_trip(container, ["a\x00b", "c"], Text())
