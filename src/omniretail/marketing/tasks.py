"""Marketing's background work: due journey runs advanced, the date/inactivity sweep and
sending's ``deliver_due``, every few seconds. ``omniretail
serve`` runs it in a thread beside the relay; ``omniretail marketing journeys run`` in the
foreground. With ``marketing_delivery_processes`` set, ``advance_due`` and ``deliver_due`` run
in that many processes instead (``sending_workers``), started by the same two; the round then
only sweeps."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from omniretail.kernel.vault import vault_for
from omniretail.marketing.journeys_engine import advance_due
from omniretail.marketing.journeys_triggers import Definitions, journeys_sweep
from omniretail.marketing.sending_delivery import deliver_due
from omniretail.marketing.sending_workers import DeliveryWorkers
from omniretail.marketing.triggers import browse_sweep
from omniretail.runtime import Runtime

__all__ = ["INTERVAL_SECONDS", "BackgroundJourneys", "DeliveryWorkers", "Tick", "tick"]
log = logging.getLogger("omniretail.marketing.journeys")
INTERVAL_SECONDS = 2.0
BROWSE_EVERY_SECONDS = 15 * 60


@dataclass
class Tick:
    entered: int
    advanced: int
    delivered: int


def tick(
    container: Runtime,
    *,
    limit: int = 500,
    browse: bool = False,
    deliver: bool = True,
    definitions: Definitions | None = None,
) -> Tick:
    """One round: the sweep (with ``browse``, the browse-abandonment sweep too), then (with
    ``deliver``: no worker processes do it) every due run and the due sends. A loop passes
    its ``definitions``, so the live journeys are parsed once, not every round."""
    with container.uow() as uow:
        entered = journeys_sweep(uow, definitions=definitions)
    if browse:
        with container.uow() as uow:
            browse_sweep(uow)
    advanced = delivered = 0
    if deliver:
        advanced = advance_due(container.uow, limit=limit, vault=vault_for(container.keyring))
        delivered = deliver_due(container.uow, limit=limit)
    return Tick(entered=entered, advanced=advanced, delivered=delivered)


class BackgroundJourneys:
    """``tick`` in a daemon thread until ``stop``; a failed round is logged and retried."""

    def __init__(
        self, container: Runtime, interval: float = INTERVAL_SECONDS, *, deliver: bool = True
    ) -> None:
        self.container, self.interval, self.deliver = container, interval, deliver
        self.stopping = threading.Event()
        self.definitions = Definitions()
        self._thread = threading.Thread(target=self._loop, name="omniretail-journeys", daemon=True)

    def _loop(self) -> None:
        browsed_at = 0.0
        while not self.stopping.is_set():
            browse = time.monotonic() - browsed_at >= BROWSE_EVERY_SECONDS
            try:
                tick(
                    self.container,
                    browse=browse,
                    deliver=self.deliver,
                    definitions=self.definitions,
                )
                browsed_at = time.monotonic() if browse else browsed_at
            except Exception:
                log.exception("journeys round failed; will retry")
            self.stopping.wait(self.interval)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self.stopping.set()
        self._thread.join(timeout)
