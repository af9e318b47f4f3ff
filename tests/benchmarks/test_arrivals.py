"""The open-loop arrivals of ``benchmarks/checkout.py --arrival-rate``
(``benchmarks/_arrivals.py``): the schedule, the connection pool that grows to its cap, and
late and dropped flows."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _arrivals import ConnectionPool, arrival_times, open_loop, summary


class FakeConnection:
    opened = 0

    def __init__(self) -> None:
        self.sent = 0

    async def open(self) -> None:
        FakeConnection.opened += 1

    async def close(self) -> None:
        pass


def test_the_schedule_is_seeded_and_keeps_the_rate() -> None:
    assert arrival_times(4, 4, "even") == [0.0, 0.25, 0.5, 0.75]
    poisson = arrival_times(100, 5000, "poisson", seed=3)
    assert poisson == arrival_times(100, 5000, "poisson", seed=3)
    assert poisson != arrival_times(100, 5000, "poisson", seed=4)
    gaps = [b - a for a, b in itertools.pairwise(poisson)]
    assert statistics.mean(gaps) == pytest.approx(0.01, rel=0.05)
    with pytest.raises(ValueError):
        arrival_times(0, 3)


def run(flow_s: float, rate: float, count: int, cap: int, max_wait_s: float) -> dict[str, Any]:
    async def flow(conn: FakeConnection, n: int) -> dict[str, Any]:
        conn.sent += 1
        await asyncio.sleep(flow_s)
        return {"outcome": "ordered"}

    async def main() -> dict[str, Any]:
        pool = ConnectionPool(FakeConnection, cap)
        result = await open_loop(pool, flow, arrival_times(rate, count, "even"), max_wait_s)
        return summary(rate, result, len(pool.connections))

    return asyncio.run(main())


def test_flows_start_on_time_on_a_pool_that_grows_as_needed() -> None:
    # 100 a second for 0.3 s each: about 30 at once, whatever the time a flow takes
    figures = run(flow_s=0.3, rate=100, count=60, cap=100, max_wait_s=1)
    assert figures["dropped"] == 0
    assert 28 <= figures["connections_opened"] <= 60
    assert figures["flow_p50_ms"] >= 300


def test_at_the_cap_flows_wait_late_and_are_dropped_after_the_longest_wait() -> None:
    # 2 connections, flows of 0.2 s arriving every 0.05 s: 2 run at a time, the rest queue
    figures = run(flow_s=0.2, rate=20, count=12, cap=2, max_wait_s=0.25)
    assert figures["connections_opened"] == 2
    assert figures["late"] > 0 and figures["dropped"] > 0
    assert figures["late"] + figures["dropped"] >= 8  # at most 2 + 2 on time
