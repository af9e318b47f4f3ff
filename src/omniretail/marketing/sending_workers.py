"""``deliver_due`` in worker processes (the ``marketing_delivery_processes`` setting).

Deciding and rendering a send is Python work (templates, CSS inlining, encryption), so threads
share one core through the GIL; processes use them all. Each process builds its own runtime
from the settings with ``build`` (the composition root's ``build_container``, handed in by the
edge that starts them) and loops over ``deliver_due``. They share the work through the claim:
a batch is locked with ``FOR UPDATE SKIP LOCKED`` and leased in one transaction (on SQLite
the claiming UPDATE takes the write lock), so two processes never take the same send, and a
send's status, notification and event commit together (the send key is unique): a process
killed mid-batch leaves its lease to run out and the batch is decided again, once.

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
    stopping: MpEvent,
    going: MpEvent,
    ready: Synchronized[int],
    delivered: Synchronized[int],
) -> None:
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches the whole process group
        runtime = build(settings)
        try:
            with ready.get_lock():
                ready.value += 1
            while not stopping.is_set() and not going.wait(0.1):
                pass
            while not stopping.is_set():
                try:
                    done = deliver_due(runtime.uow, limit=limit)
                except Exception:
                    log.exception("marketing delivery round failed; will retry")
                    done = 0
                if done:
                    with delivered.get_lock():
                        delivered.value += done
                else:
                    stopping.wait(interval)
        finally:
            runtime.dispose()


class DeliveryWorkers:
    """``processes`` delivery processes; ``start(paused=True)`` builds them but lets them
    deliver only after ``resume`` (a benchmark times the delivery, not the start)."""

    def __init__(
        self,
        build: Build,
        settings: Settings,
        processes: int,
        *,
        limit: int = 500,
        interval: float = 2.0,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._stopping = context.Event()
        self._going = context.Event()
        self._ready: Synchronized[int] = context.Value("i", 0)
        self._delivered: Synchronized[int] = context.Value("q", 0)
        args: tuple[Any, ...] = (
            build,
            settings,
            limit,
            interval,
            self._stopping,
            self._going,
            self._ready,
            self._delivered,
        )
        self._processes: list[SpawnProcess] = [
            context.Process(target=_work, args=args, name=f"omniretail-delivery-{n}", daemon=True)
            for n in range(processes)
        ]

    @property
    def delivered(self) -> int:
        """Sends decided by the processes so far."""
        return int(self._delivered.value)

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
