"""Open-loop arrivals for the HTTP benchmarks: flows start on a schedule, whatever the server's
speed, instead of a fixed number of clients each starting its next flow when the last ends (a
closed loop, whose rate falls as every flow takes longer: 20 clients waiting 300 ms on a
payment provider cannot start more than 20 / 0.3 s flows a second).

``arrival_times`` gives the schedule: ``even`` (one every 1/rate s) or ``poisson``
(exponential gaps, seeded). ``open_loop`` starts flow ``n`` at its time on a free connection
of a ``ConnectionPool``, which opens another while it holds fewer than ``cap``; at the cap a
flow waits for one to come free. A flow that waited at all is ``late``; one still waiting
``max_wait_s`` after its time is ``dropped`` (never sent). Each result records ``waited_s``
and ``flow_ms`` (from the scheduled time to the end: queueing included, so a slow server
cannot hide behind fewer arrivals)."""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

# A flow that starts this long after its time waited for a connection (or for the client's
# event loop): late.
LATE_S = 0.010


class Conn(Protocol):
    sent: int

    async def open(self) -> None: ...

    async def close(self) -> None: ...


def arrival_times(rate: float, count: int, kind: str = "poisson", seed: int = 7) -> list[float]:
    """Seconds from the start at which each of ``count`` flows arrives, ``rate`` a second."""
    if rate <= 0:
        raise ValueError("the arrival rate must be positive")
    if kind == "even":
        return [n / rate for n in range(count)]
    if kind != "poisson":
        raise ValueError(f"arrivals are 'even' or 'poisson', not {kind!r}")
    rng, at, times = random.Random(seed), 0.0, []
    for _ in range(count):
        times.append(at)
        at += rng.expovariate(rate)
    return times


class ConnectionPool:
    """Idle connections handed out first come, first served; grows up to ``cap``."""

    def __init__(self, make: Callable[[], Conn], cap: int) -> None:
        self.make, self.cap = make, cap
        self.connections: list[Conn] = []
        self._idle: list[Conn] = []
        self._waiting: deque[asyncio.Future[Conn]] = deque()

    async def acquire(self, timeout: float) -> Conn | None:
        """A connection, or None if none came free within ``timeout`` seconds."""
        if self._idle:
            return self._idle.pop()
        if len(self.connections) < self.cap:
            conn = self.make()
            self.connections.append(conn)
            await conn.open()
            return conn
        waiter: asyncio.Future[Conn] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), max(0.0, timeout))
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                return waiter.result()  # handed over just as the wait ran out
            waiter.cancel()
            return None

    def release(self, conn: Conn) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.connections))


async def open_loop(
    pool: ConnectionPool,
    flow: Callable[[Any, int], Awaitable[dict[str, Any]]],
    times: list[float],
    max_wait_s: float,
) -> dict[str, Any]:
    """Runs ``flow(connection, n)`` at each of ``times``; the results, in arrival order, and
    ``elapsed_s`` from the first arrival to the last flow's end."""
    loop = asyncio.get_running_loop()
    results: list[dict[str, Any]] = [{} for _ in times]

    async def arrive(n: int, due: float) -> None:
        conn = await pool.acquire(timeout=due + max_wait_s - loop.time())
        started = loop.time()
        waited = max(0.0, started - due)
        if conn is None:
            results[n] = {"outcome": "dropped", "waited_s": waited}
            return
        try:
            result = await flow(conn, n)
        except (OSError, asyncio.IncompleteReadError) as exc:
            result = {"outcome": "error", "status": type(exc).__name__}
            await conn.close()
            await conn.open()
        pool.release(conn)
        results[n] = {
            **result,
            "waited_s": waited,
            "late": waited > LATE_S,
            "flow_ms": (loop.time() - due) * 1000,
        }

    began = loop.time()
    tasks = []
    for n, offset in enumerate(times):
        due = began + offset
        if (delay := due - loop.time()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(arrive(n, due)))
    await asyncio.gather(*tasks)
    return {"results": results, "elapsed_s": loop.time() - began, "span_s": times[-1]}


def summary(rate: float, run: dict[str, Any], connections: int) -> dict[str, Any]:
    """The open loop's figures for the JSON line."""
    results = run["results"]
    finished = [r for r in results if r["outcome"] in ("ordered", "sold_out")]
    span = run["span_s"]
    return {
        "offered_rate_per_s": rate,
        "offered_measured_per_s": round((len(results) - 1) / span, 1) if span else None,
        "achieved_rate_per_s": round(len(finished) / run["elapsed_s"], 1),
        "dropped": sum(1 for r in results if r["outcome"] == "dropped"),
        "late": sum(1 for r in results if r.get("late")),
        "connections_opened": connections,
        "flow_p50_ms": _nearest_rank([r["flow_ms"] for r in finished], 50),
        "flow_p95_ms": _nearest_rank([r["flow_ms"] for r in finished], 95),
        "start_delay_p95_ms": _nearest_rank(
            [r["waited_s"] * 1000 for r in results if r["outcome"] != "dropped"], 95
        ),
    }


def _nearest_rank(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1], 1)
