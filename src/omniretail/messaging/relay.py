"""The outbox relay: every committed event reaches every handler, at least once.

One pass (``run_once``):

1. **Plan.** Outbox messages not planned yet get one ``deliveries`` row per matching handler
   (unique on message and handler, so planning twice adds nothing) and ``planned_at``, in one
   transaction; planning never reads a planned message again. A message no handler wants is
   published at once. Pages of ``batch_size`` messages are planned until they give a batch
   of deliveries (at most ``PLAN_PAGES``).
2. **Claim**, in the planning's transaction (on PostgreSQL in one statement). Due
   deliveries, in event order (those of handlers registered as ``background``, the
   notification sends, are planned in the background lane and claimed after every due
   delivery of the foreground lane), are locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL;
   SQLite serialises writers) and leased: status ``sending``, ``attempts + 1``,
   ``next_attempt_at = now + lease``, a fresh claim token.
   A concurrent relay skips or no longer sees them; if this process dies, the lease (30 s by
   default) runs out and the delivery is due again: a crash delays it, never loses it.
   On PostgreSQL, when nothing is due, the deliveries the claim would take are inserted
   leased by the planning (``claims.add_claimed``): one write each instead of two.
   While the batch is being delivered a heartbeat thread renews the lease of the claims
   still held every third of it, so a slow handler is not delivered twice meanwhile.
3. **Deliver.** Each handler runs outside any relay transaction. The claims of a handler that
   takes batches (``registry.on_batch``) go to it together, in one call (its one transaction),
   and their outcome is written in one transaction; if the batch raises, they are delivered
   one by one, so a poisoned event is retried and dead-lettered alone. Success marks the delivery
   ``delivered``, and the message ``published`` once all its deliveries are done; failure
   schedules a retry after an exponential back-off with jitter, or, after ``max_attempts``,
   leaves it ``dead`` for an operator to list and replay. Outcomes are written only while the
   claim token still matches, so a relay that outlived its lease cannot overwrite another's.

Delivery is at least once: a crash after the handler's effect and before step 3's write repeats
the effect on the next attempt, which is why handlers are idempotent. Claims of a batch not
started within ``batch_seconds`` (half the lease by default) are handed back untried, so other
relays share a long batch.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from omniretail.db.heartbeat import LeaseHeartbeat
from omniretail.db.sql import is_postgres
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.events import cloud_event
from omniretail.kernel.ids import new_id
from omniretail.messaging import claims, repository
from omniretail.messaging.handlers import HandlerRegistry, SkipDelivery, UowFactory
from omniretail.messaging.models import DeliveryStatus

log = logging.getLogger("omniretail.messaging.relay")

ERROR_LIMIT = 2000
# Pages of unplanned messages a pass plans at most, to find a batch of deliveries.
PLAN_PAGES = 4
# Successful deliveries are recorded together at least this often (and at the end of a pass).
FLUSH_SECONDS = 0.25
LOST_LEASE = "the relay stopped during the last attempt (its lease ran out)"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off: attempt n waits ``base * 2**(n-1)`` seconds, at most ``cap``,
    of which the last ``jitter`` fraction is random so retries from many messages spread."""

    max_attempts: int = 12
    base_seconds: float = 10.0
    cap_seconds: float = 3600.0
    jitter: float = 0.5

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempt - 1))
        seconds = ceiling * (1 - self.jitter) + ceiling * self.jitter * rng.random()
        return timedelta(seconds=seconds)

    def longest_delay(self, attempt: int) -> timedelta:
        """The upper bound of ``delay`` (tests advance a clock by it)."""
        return timedelta(
            seconds=min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempt - 1))
        )


@dataclass
class RelayReport:
    planned: int = 0
    published: int = 0
    delivered: int = 0
    skipped: int = 0
    retried: int = 0
    dead: int = 0
    lost_claims: int = 0

    @property
    def handled(self) -> int:
        """Deliveries this pass ended one way or another."""
        return self.delivered + self.skipped + self.retried + self.dead

    @property
    def did_work(self) -> bool:
        return bool(
            self.planned + self.delivered + self.skipped + self.retried + self.dead
            or self.lost_claims
        )

    def add(self, other: RelayReport) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    message_id: str
    handler: str
    attempt: int
    token: str
    event: dict[str, Any]


@dataclass
class Relay:
    uow_factory: UowFactory
    registry: HandlerRegistry
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    batch_size: int = 100
    lease: timedelta = timedelta(seconds=30)
    # Wall seconds between lease renewals while a batch is delivered (default: lease / 3).
    heartbeat_seconds: float | None = None
    rng: random.Random = field(default_factory=random.Random)
    # Wall time, for the lease budget of a batch (the clock in uow.now may be a test's).
    monotonic: Callable[[], float] = time.monotonic
    # Set to stop: the delivery in progress finishes, the rest of the batch is handed back.
    stopping: threading.Event = field(default_factory=threading.Event)
    # Units of work for the idle probe (``has_work``): reads (default: ``uow_factory``).
    read_uow_factory: UowFactory | None = None
    # ``run_forever`` waits this long after a pass that handled under a quarter of a batch, so
    # that at a moderate rate a pass's fixed statements (plan, claim, outcomes) are shared by
    # more events; a full batch passes again at once.
    linger_seconds: float = 0.0

    def run_once(self) -> RelayReport:
        """Plan new messages, then claim and deliver one batch of due deliveries.

        A batch shares one lease; claims not started within half of it are handed back
        unattempted, so a batch of slow handlers never outlives its lease."""
        report = RelayReport()
        with self.uow_factory() as uow:
            # one transaction: its locks skip what another relay holds, so it never waits
            repository.plan_for_tables_as_they_are(uow.session)
            token = new_id()
            claims = self._plan_in(uow, report, claim_as=token)
            if not claims:
                claims = self._claim_in(uow, report, token)
        if not claims:
            return report
        budget_ends = self.monotonic() + self.lease.total_seconds() / 2
        token = claims[0].token
        heartbeat = LeaseHeartbeat(
            lambda: self.renew(token),
            lease=self.lease,
            interval=self.heartbeat_seconds,
            what="the relay's batch",
        )
        heartbeat.start()
        try:
            self._deliver_all(claims, report, budget_ends)
        finally:
            heartbeat.stop()
        return report

    def _deliver_all(self, claims: list[Claim], report: RelayReport, budget_ends: float) -> None:
        """Deliver in order; the claims of a batch handler go together at its first one.

        Successes and skips, a batch handler's included, are recorded together (one
        transaction for those of up to ``FLUSH_SECONDS``), not one transaction each: a crash in
        between only repeats them (at least once)."""
        done = _Done()
        try:
            for index, unit in enumerate(units := self._units(claims)):
                if self.monotonic() > budget_ends or self.stopping.is_set():
                    self._release([c for rest in units[index:] for c in rest])
                    return
                if len(unit) > 1 and (skips := self._deliver_batch(unit)) is not None:
                    for claim in unit:
                        done.add(claim, _outcome(claim, skips), self.monotonic())
                    if done.due(self.monotonic()):
                        self._record_done(*done.take(), report)
                    continue
                for at, claim in enumerate(unit):
                    if at and (self.monotonic() > budget_ends or self.stopping.is_set()):
                        self._release(unit[at:] + [c for rest in units[index + 1 :] for c in rest])
                        return
                    outcome = self._deliver(claim, report)
                    if outcome is not None:
                        done.add(claim, outcome, self.monotonic())
                    if done.due(self.monotonic()):
                        self._record_done(*done.take(), report)
        finally:
            self._record_done(*done.take(), report)

    def _units(self, claims: list[Claim]) -> list[list[Claim]]:
        units: list[list[Claim]] = []
        batches: dict[str, list[Claim]] = {}
        for claim in claims:
            if self.registry.resolve_batch(claim.handler) is None:
                units.append([claim])
            elif claim.handler in batches:
                batches[claim.handler].append(claim)
            else:
                batches[claim.handler] = [claim]
                units.append(batches[claim.handler])
        return units

    def renew(self, token: str) -> int:
        """Extend the lease of the claims under ``token`` that are still being sent (the
        heartbeat calls this); returns how many were renewed."""
        with self.uow_factory() as uow:
            return repository.renew_claims(
                uow.session, token=token, lease_until=uow.now + self.lease, now=uow.now
            )

    def run_until_idle(self, max_passes: int = 10_000) -> RelayReport:
        """Pass until nothing is due now (retries scheduled for later stay scheduled)."""
        total = RelayReport()
        for _ in range(max_passes):
            report = self.run_once()
            total.add(report)
            if not report.did_work:
                break
        return total

    def run_forever(self, interval: float) -> None:
        """Pass continuously until ``stopping`` is set. Once a pass found nothing to do, probe
        every ``interval`` seconds with one read (``has_work``) and pass again as soon as an
        event is waiting: an idle relay notices a new event within ``interval`` for the price
        of one statement, not of a pass's locking transaction. After a short pass it waits
        ``linger_seconds`` first."""
        while not self.stopping.is_set():
            try:
                report = self.run_once()
            except Exception:
                log.exception("relay pass failed; will retry")
                report = RelayReport()
            if not report.did_work:
                self._idle(interval)
            elif self.linger_seconds > 0 and report.handled < self.batch_size // 4:
                self.stopping.wait(self.linger_seconds)

    def _idle(self, interval: float) -> None:
        while not self.stopping.wait(interval):
            try:
                if self.has_work():
                    return
            except Exception:
                log.exception("relay probe failed")
                return  # the pass reports what is wrong, or finds the work

    def has_work(self) -> bool:
        """Whether a pass would find something: a message not planned yet, or a delivery due
        now (one statement; a retry scheduled for later is not due)."""
        with (self.read_uow_factory or self.uow_factory)() as uow:
            return repository.work_waiting(uow.session, uow.now)

    # --- steps -----------------------------------------------------------------------------

    def _plan(self, report: RelayReport) -> None:
        """Plan pages of ``batch_size`` messages, in one transaction, until the deliveries
        planned fill a batch (or ``PLAN_PAGES`` pages): events no handler wants (published at
        once) do not leave a pass with a short batch to deliver."""
        with self.uow_factory() as uow:
            self._plan_in(uow, report)

    def _plan_in(
        self, uow: UnitOfWork, report: RelayReport, claim_as: str | None = None
    ) -> list[Claim]:
        """With ``claim_as`` (a pass, which claims next), on PostgreSQL: when nothing is due,
        the deliveries the claim would take are added claimed under that token
        (``claims.add_claimed``) and returned; else none, and the claim is made as usual."""
        names_for = None  # loaded (webhook subscriptions) once there is a message to plan
        plans: list[tuple[Any, list[str]]] = []
        deliveries = 0
        for _ in range(PLAN_PAGES):
            messages = repository.lock_unplanned_messages(uow.session, self.batch_size, uow.now)
            if not messages:
                break
            names_for = names_for or self.registry.planner(uow.session)
            unwanted = []
            for message in messages:
                names = names_for(message.type, bool(message.guest))
                if names:
                    plans.append((message, names))
                    deliveries += len(names)
                else:
                    unwanted.append(message.position)
            # stamped before the next page's read, which this transaction's locks do not skip
            repository.mark_messages_planned(
                uow.session, [m.position for m in messages], published=unwanted, now=uow.now
            )
            report.published += len(unwanted)
            report.planned += len(messages)
            if len(messages) < self.batch_size or deliveries >= self.batch_size:
                break
        background = self.registry.background
        if claim_as is None or not plans or not is_postgres(uow.session):
            repository.add_deliveries_of(uow.session, plans, uow.now, background)
            return []
        taken = claims.add_claimed(
            uow.session,
            plans,
            now=uow.now,
            background=background,
            limit=self.batch_size,
            token=claim_as,
            lease_until=uow.now + self.lease,
        )
        return [_claim(row, claim_as) for row in taken]

    def _claim(self, report: RelayReport) -> list[Claim]:
        with self.uow_factory() as uow:
            return self._claim_in(uow, report)

    def _claim_in(
        self, uow: UnitOfWork, report: RelayReport, token: str | None = None
    ) -> list[Claim]:
        """Lease a batch of due deliveries. A lease that ran out on the last attempt means a
        relay died (or hung) during it; that attempt counts, so the delivery is dead."""
        token = token or new_id()
        due, buried = claims.claim_due(
            uow.session,
            now=uow.now,
            limit=self.batch_size,
            token=token,
            lease_until=uow.now + self.lease,
            max_attempts=self.policy.max_attempts,
            lost_lease=LOST_LEASE,
        )
        report.dead += buried
        return [_claim(d, token) for d in due]

    def _release(self, claims: list[Claim]) -> None:
        if not claims:
            return
        with self.uow_factory() as uow:
            repository.release_claims(
                uow.session, [c.delivery_id for c in claims], token=claims[0].token, now=uow.now
            )

    def _deliver_batch(self, claims: list[Claim]) -> dict[str, str | None] | None:
        """All the claims to one batch handler in one call; returns the skips it reported
        (event id -> reason), or None when it raised (nothing of it committed: the caller
        then delivers them one by one, so a poisoned event fails alone)."""
        batch = self.registry.resolve_batch(claims[0].handler)
        if batch is None:
            return None
        try:
            return dict(batch([c.event for c in claims], self.uow_factory) or {})
        except Exception as exc:
            log.warning(
                "a batch of %d events for %s failed (%s: %s); delivering them one by one",
                len(claims),
                claims[0].handler,
                type(exc).__name__,
                exc,
            )
            return None

    def _record_done(
        self, claims: list[Claim], skips: dict[int, str | None], report: RelayReport
    ) -> None:
        """Delivered (or skipped: ``skips`` maps their delivery id to the reason) for claims of
        this pass's token, and their messages published when complete, in one transaction
        (``repository.record_outcomes``)."""
        if not claims:
            return
        outcomes = [
            (
                c.delivery_id,
                c.message_id,
                DeliveryStatus.SKIPPED if c.delivery_id in skips else DeliveryStatus.DELIVERED,
                skips.get(c.delivery_id),
            )
            for c in claims
        ]
        with self.uow_factory() as uow:
            repository.plan_for_tables_as_they_are(uow.session)
            recorded, published = repository.record_outcomes(
                uow.session, outcomes, token=claims[0].token, now=uow.now
            )
        report.published += published
        skipped = sum(1 for delivery_id in recorded if delivery_id in skips)
        report.skipped += skipped
        report.delivered += len(recorded) - skipped
        lost = len(claims) - len(recorded)
        if lost:
            report.lost_claims += lost
            log.warning("%d deliveries: the lease ran out before they finished", lost)

    def _deliver(self, claim: Claim, report: RelayReport) -> _Outcome | None:
        """Run the handler; a failure is recorded now, a success (``DELIVERED``) or a skip
        (``_Skipped``, with its reason) is returned for the caller to record with others."""
        try:
            handler = self.registry.resolve(claim.handler)
            handler(claim.event, self.uow_factory)
        except SkipDelivery as skip:
            return _Skipped(str(skip) or None)
        except Exception as exc:
            self._fail(claim, exc, report)
            return None
        return DeliveryStatus.DELIVERED

    def _fail(self, claim: Claim, exc: Exception, report: RelayReport) -> None:
        error = f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
        give_up = claim.attempt >= self.policy.max_attempts
        with self.uow_factory() as uow:
            next_attempt_at = (
                None if give_up else uow.now + self.policy.delay(claim.attempt, self.rng)
            )
            recorded = repository.finish_claim(
                uow.session,
                claim.delivery_id,
                token=claim.token,
                status=DeliveryStatus.DEAD if give_up else DeliveryStatus.PENDING,
                now=uow.now,
                error=error,
                next_attempt_at=next_attempt_at,
            )
        if not recorded:
            report.lost_claims += 1
            return
        if give_up:
            report.dead += 1
            log.error(
                "delivery %d (%s, event %s) is dead after %d attempts: %s",
                claim.delivery_id,
                claim.handler,
                claim.message_id,
                claim.attempt,
                error,
            )
        else:
            report.retried += 1
            log.warning(
                "delivery %d (%s, event %s) failed, attempt %d, retry at %s: %s",
                claim.delivery_id,
                claim.handler,
                claim.message_id,
                claim.attempt,
                next_attempt_at,
                error,
            )


@dataclass(frozen=True)
class _Skipped:
    """The handler raised ``SkipDelivery``, with this reason."""

    reason: str | None


_Outcome = DeliveryStatus | _Skipped


def _outcome(claim: Claim, skips: dict[str, str | None]) -> _Outcome:
    """A batch handler's outcome for one of its claims (``skips``: event id -> reason)."""
    if claim.message_id in skips:
        return _Skipped(skips[claim.message_id])
    return DeliveryStatus.DELIVERED


@dataclass
class _Done:
    """Claims delivered or skipped, not yet recorded, and since when."""

    claims: list[Claim] = field(default_factory=list)
    skips: dict[int, str | None] = field(default_factory=dict)
    since: float = 0.0

    def add(self, claim: Claim, outcome: _Outcome, now: float) -> None:
        if not self.claims:
            self.since = now
        self.claims.append(claim)
        if isinstance(outcome, _Skipped):
            self.skips[claim.delivery_id] = outcome.reason

    def due(self, now: float) -> bool:
        return bool(self.claims) and now - self.since >= FLUSH_SECONDS

    def take(self) -> tuple[list[Claim], dict[int, str | None]]:
        taken, skips = self.claims, self.skips
        self.claims, self.skips = [], {}
        return taken, skips


class BackgroundRelay:
    """A relay in a daemon thread (the server runs one). ``stop`` lets the delivery in
    progress finish and hands the rest of its batch back, so a restart resends nothing."""

    def __init__(self, relay: Relay, interval: float) -> None:
        self.relay = relay
        self._thread = threading.Thread(
            target=relay.run_forever, args=(interval,), name="omniretail-relay", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self.relay.stopping.set()
        self._thread.join(timeout)


def _claim(due: Any, token: str) -> Claim:
    """A claim from a row of ``claims.claim_due`` (unpacked: a row's attributes cost more)."""
    delivery_id, message_id, handler, _status, attempt, type_, source, subject, time_, data = due
    return Claim(
        delivery_id=delivery_id,
        message_id=message_id,
        handler=handler,
        attempt=attempt,
        token=token,
        event=cloud_event(
            id=message_id, source=source, type=type_, subject=subject, time=time_, data=data
        ),
    )
