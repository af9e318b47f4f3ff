"""Dynamic pricing runs racing on PostgreSQL (real connections, one transaction each): the
unique key of the change log lets exactly one of them change the price; the others wait for
it and change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from omniretail.intelligence import jobs
from omniretail.intelligence.dynamic_pricing import run
from tests.concurrency.test_no_oversell import parallel
from tests.intelligence.test_dynamic_pricing import RULE, _hot_sku
from tests.orders.network import ok

RUNS = 4


@pytest.mark.parametrize("backend", ["postgres"])
def test_parallel_runs_make_one_change(container, client, clock):
    _hot_sku(container, client, clock)
    ok(client.put("/api/v1/dynamic-pricing/rules/hot", json=RULE))

    def one(i: int) -> int:
        with container.uow() as uow:
            return run(uow, actor=f"race-{i}").changed

    assert sorted(parallel(RUNS, one)) == [0] * (RUNS - 1) + [1]
    with container.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT sku_code, old_price, new_price FROM dynamic_price_changes")
        ).all()
        entry = conn.execute(
            text("SELECT price FROM price_list_entries WHERE list_code = 'DYN:WEB'")
        ).scalar_one()
    assert [(r[0], str(r[1]), str(r[2])) for r in rows] == [("A1", "20.000", "21.000")]
    assert str(entry) == "21.000"
    assert jobs.DYNAMIC_PRICING == "pricing.dynamic"
