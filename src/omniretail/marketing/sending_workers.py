"""Marketing's worker processes (the ``marketing_delivery_processes`` setting): due journey
runs advanced (``advance_due``) and due sends delivered (``deliver_due``).

Advancing, deciding and rendering are Python work (definitions, templates, CSS inlining,
encryption), so threads share one core through the GIL; processes use them all. Each process
builds its own runtime from the settings with ``build`` (the composition root's
``build_container``, handed in by the edge that starts them) and loops: one batch of due runs
advanced, then one batch of due sends delivered, so the sends a batch of runs queues flow on
while the next runs are advanced. They share the work through the claims: due runs and due
sends are locked with ``FOR UPDATE SKIP LOCKED`` (on SQLite the claiming statement takes the
write lock), so two processes never take the same run or send; a batch of runs moves in one
transaction (a crash rolls it back and it is advanced again), and a send's status,
notification and event commit together (the send key is unique): a process killed mid-batch
leaves its lease to run out and the batch is decided again, once.

Processes are started with ``spawn`` (no forked copy of the parent's connections or threads).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.context import SpawnProcess
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as MpEvent
from typing import Any

from omniretail.kernel.vault import vault_for
from omniretail.marketing.journeys_engine import advance_due
from omniretail.marketing.sending_delivery import deliver_due
from omniretail.runtime import Runtime
from omniretail.settings import Settings

log = logging.getLogger("omniretail.marketing.delivery")
Build = Callable[[Settings], Runtime]
STOP_TIMEOUT_SECONDS = 30.0


def _work(
    build: Build,
    settings: Settings,
    limit: int,
    interval: float,
    advance: bool,
    stopping: MpEvent,
    going: MpEvent,
    ready: Synchronized[int],
    counts: Counts,
) -> None:
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches the whole process group
        runtime = build(settings)
        vault = vault_for(runtime.keyring)
        try:
            with ready.get_lock():
                ready.value += 1
            while not stopping.is_set() and not going.wait(0.1):
                pass
            while not stopping.is_set():
                moved = done = 0
                try:
                    if advance:
                        moved = advance_due(runtime.uow, limit=limit, vault=vault, batches=1)
                        counts.add(advanced=moved)
                    done = deliver_due(runtime.uow, limit=limit, batches=1)
                    counts.add(delivered=done)
                except Exception:
                    log.exception("marketing worker round failed; will retry")
                if not moved and not done:
                    stopping.wait(interval)
        finally:
            runtime.dispose()


class Counts:
    """Runs advanced and sends decided by all the processes (shared memory)."""

    def __init__(self, context: Any) -> None:
        self.advanced: Synchronized[int] = context.Value("q", 0)
        self.delivered: Synchronized[int] = context.Value("q", 0)

    def add(self, *, advanced: int = 0, delivered: int = 0) -> None:
        for value, n in ((self.advanced, advanced), (self.delivered, delivered)):
            if n:
                with value.get_lock():
                    value.value += n


class DeliveryWorkers:
    """``processes`` worker processes (with ``advance``, the default, they advance due runs
    too, else they only deliver); ``start(paused=True)`` builds them but lets them work only
    after ``resume`` (a benchmark times the work, not the start)."""

    def __init__(
        self,
        build: Build,
        settings: Settings,
        processes: int,
        *,
        limit: int = 500,
        interval: float = 2.0,
        advance: bool = True,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._stopping = context.Event()
        self._going = context.Event()
        self._ready: Synchronized[int] = context.Value("i", 0)
        self._counts = Counts(context)
        self.advance = advance
        args: tuple[Any, ...] = (
            build,
            settings,
            limit,
            interval,
            advance,
            self._stopping,
            self._going,
            self._ready,
            self._counts,
        )
        self._processes: list[SpawnProcess] = [
            context.Process(target=_work, args=args, name=f"omniretail-delivery-{n}", daemon=True)
            for n in range(processes)
        ]

    @property
    def delivered(self) -> int:
        """Sends decided by the processes so far."""
        return int(self._counts.delivered.value)

    @property
    def advanced(self) -> int:
        """Runs advanced by the processes so far."""
        return int(self._counts.advanced.value)

    @property
    def ready(self) -> int:
        return int(self._ready.value)

    def start(self, *, paused: bool = False) -> None:
        if not paused:
            self._going.set()
        for process in self._processes:
            process.start()

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """True once every process built its runtime (False: one died or it took too long)."""
        ends = time.monotonic() + timeout
        while self.ready < len(self._processes):
            if time.monotonic() > ends or not all(p.is_alive() for p in self._processes):
                return False
            time.sleep(0.02)
        return True

    def resume(self) -> None:
        self._going.set()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """The batches in progress commit, then the processes end (killed after ``timeout``:
        their leases run out and the batches are decided again)."""
        self._stopping.set()
        ends = time.monotonic() + timeout
        for process in self._processes:
            process.join(max(0.0, ends - time.monotonic()))
        for process in self._processes:
            if process.is_alive():
                process.kill()
                process.join()
