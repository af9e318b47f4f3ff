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

The hand-off is a plain queue, not ``anyio.to_thread``: a job goes on a ``queue.SimpleQueue``
(C, no condition variable), a lane thread runs it in a copy of the caller's context and gives
the answer back with ``loop.call_soon_threadsafe``. anyio's path (a capacity limiter, a cancel
scope, a ``queue.Queue`` per worker) cost ~70 µs of CPU a hop on this machine, this one ~6 µs
(docs/performance.md). A request cancelled while its job runs stops waiting; the job still
runs to its end (it is one whole unit of work), and its answer is dropped.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar, TypeVarTuple

from starlette.requests import HTTPConnection

from omniretail.runtime import Runtime

R = TypeVar("R")
Args = TypeVarTuple("Args")

# A lane thread with nothing to do for this long ends; the next job starts one again.
IDLE_SECONDS = 10.0


class Lane:
    """Up to ``size`` threads running jobs in the order they were given."""

    def __init__(self, name: str, size: int) -> None:
        if size < 1:
            raise ValueError("a lane needs at least one thread")
        self.name = name
        self.size = size
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0

    async def run(self, fn: Callable[[*Args], R], *args: *Args) -> R:
        """``fn(*args)`` on one of the lane's threads, in the caller's context."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[R] = loop.create_future()
        context = contextvars.copy_context()

        def job() -> None:
            try:
                result = context.run(fn, *args)
            except BaseException as exc:  # handed to the waiting request, as anyio does
                loop.call_soon_threadsafe(_settle, answer, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, answer, result, None)

        self._jobs.put(job)
        with self._lock:
            if self._threads < self.size:
                self._threads += 1
                threading.Thread(
                    target=self._work, name=f"{self.name}-{self._threads}", daemon=True
                ).start()
        return await answer

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    # A job given after the wait ran out is taken, not left without a thread.
                    if not self._jobs.empty():
                        continue
                    self._threads -= 1
                    return
            job()


def _settle(answer: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if answer.cancelled():
        return
    if exc is None:
        answer.set_result(result)
    else:
        answer.set_exception(exc)


async def in_lane(request: HTTPConnection, fn: Callable[[*Args], R], *args: *Args) -> R:
    """``fn(*args)`` (one whole unit of work, or none) on the process's lane."""
    return await lane_of(request).run(fn, *args)


def lane_of(request: HTTPConnection) -> Lane:
    """The app's lane."""
    container: Runtime = request.app.state.container
    return threads_of(request, "lane", container.settings.api_lane_threads)


def threads_of(request: HTTPConnection, name: str, size: int) -> Lane:
    """The app's lane of threads ``name`` of ``size`` threads, made on first use and kept on
    the app's state."""
    state = request.app.state
    lane: Lane | None = getattr(state, name, None)
    if lane is None:
        lane = Lane(f"omniretail-{name}", size)
        setattr(state, name, lane)
    return lane
