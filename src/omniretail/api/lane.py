"""The shop's lane: the hot, short database work of one API process on a few threads of its own.

Every request of the shopper's path (a cart made, a line added, the fulfilment options, a
stock hold, and the credential and throttle reads before them) runs its database work here,
``api_lane_threads`` at a time (1 by default), in the order the requests came. Everything
else (the console's pages, HQ's reports and exports, sync endpoints) keeps the process's
general thread pool, so a slow report never queues a shopper behind it, and a checkout's
payment call keeps its own (``deps.in_payment_thread``).

Why one thread: each process's Python runs one thread at a time anyway (the GIL). With a dozen
request threads, a thread holding a stock row's lock waits for the GIL while the others run,
so locks are held longer, PostgreSQL's backends contend, and every hand-over of the GIL costs a
context switch. In the checkout benchmark on this machine's two cores (docs/performance.md),
one lane thread gave 10-40 % more flows a second than the pool of 12, and a p95 a quarter as
long. Where PostgreSQL is across a network, a lane thread waits out each round trip with the
core idle: raise ``api_lane_threads`` (docs/operations.md).

A job given to the lane is one whole unit of work: it never returns with a transaction open.
So a job never waits on another lane job's lock or connection, and one thread cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

import anyio
from starlette.requests import HTTPConnection

from omniretail.runtime import Runtime

R = TypeVar("R")
Args = TypeVarTuple("Args")


async def in_lane(request: HTTPConnection, fn: Callable[[*Args], R], *args: *Args) -> R:
    """``fn(*args)`` (one whole unit of work, or none) on the process's lane."""
    return await anyio.to_thread.run_sync(fn, *args, limiter=lane_of(request))


def lane_of(request: HTTPConnection) -> anyio.CapacityLimiter:
    """The app's lane."""
    container: Runtime = request.app.state.container
    return threads_of(request, "lane", container.settings.api_lane_threads)


def threads_of(request: HTTPConnection, name: str, size: int) -> anyio.CapacityLimiter:
    """The app's thread limiter ``name`` of ``size`` threads, made on first use (a limiter
    belongs to the running event loop) and kept on the app's state."""
    state = request.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, name, None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(size)
        setattr(state, name, limiter)
    return limiter
