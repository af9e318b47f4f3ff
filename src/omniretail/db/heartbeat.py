"""Keeps a claimed lease alive while its holder works: the outbox relay's batch and a job.

A daemon thread calls ``renew`` every ``interval`` seconds until stopped. If the process dies,
renewals stop with it and the lease runs out, so another worker takes the claim over."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

log = logging.getLogger(__name__)


class LeaseHeartbeat:
    def __init__(
        self,
        renew: Callable[[], object],
        *,
        lease: timedelta,
        interval: float | None,
        what: str,
    ) -> None:
        self._renew = renew
        self._what = what
        self._stop = threading.Event()
        # Default: three beats per lease, so one failed renewal still leaves time.
        self._interval = interval if interval is not None else lease.total_seconds() / 3
        self._thread = threading.Thread(
            target=self._run, name=f"omniretail-heartbeat-{what}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._renew()
            except Exception:  # the next beat tries again; the lease still has time to run
                log.exception("could not renew the lease of %s", self._what)
