"""Workers: claim the oldest due job with a lease, run it, record its outcome.

A job is claimed in one short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL): state
``running``, ``attempts + 1``, a claim token and ``lease_until = now + lease``. While it runs a
heartbeat thread renews the lease every third of it. If the worker's process dies the lease
runs out and the next worker takes the job again, up to ``max_attempts`` claims, after which
it is marked failed. A job that raises is failed at once with the error (running it again
would fail the same way). Outcomes are written only while the claim token still matches.

Job functions do their work in units of work of their own (short batches, so no transaction
holds locks for the whole job) and must be safe to run again after a crash.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from omniretail.db.heartbeat import LeaseHeartbeat
from omniretail.db.uow import UnitOfWork
from omniretail.jobs import repository
from omniretail.jobs.errors import UnknownJobKind
from omniretail.jobs.models import JobState
from omniretail.kernel.ids import new_id

log = logging.getLogger("omniretail.jobs")
UowFactory = Callable[[], UnitOfWork]
ERROR_LIMIT = 2000
LOST_LEASE = "the worker stopped while running it (its lease ran out) on every attempt"


@dataclass
class JobContext:
    """What a job function gets: units of work, who asked (for ledger rows) and a progress
    callback (``progress(done, "released 1,000 lots")``, also renewing the lease)."""

    uow_factory: UowFactory
    read_uow_factory: UowFactory
    actor: str
    progress: Callable[[int, str], None]


JobFunction = Callable[[JobContext], dict[str, Any]]


class JobKinds:
    """The kinds of job this deployment runs; domains add theirs in ``build_container``."""

    def __init__(self) -> None:
        self._functions: dict[str, JobFunction] = {}

    def add(self, kind: str, function: JobFunction) -> None:
        self._functions[kind] = function

    def resolve(self, kind: str) -> JobFunction:
        try:
            return self._functions[kind]
        except KeyError:
            raise UnknownJobKind(f"no job kind {kind!r}") from None

    def __contains__(self, kind: object) -> bool:
        return kind in self._functions

    @property
    def names(self) -> list[str]:
        return sorted(self._functions)


@dataclass(frozen=True)
class Claimed:
    id: str
    kind: str
    actor: str
    token: str


@dataclass
class JobRunner:
    uow_factory: UowFactory
    kinds: JobKinds
    # For read-only jobs (on SQLite it does not take the write lock); default uow_factory.
    read_uow_factory: UowFactory | None = None
    lease: timedelta = timedelta(seconds=60)
    # Wall seconds between lease renewals while a job runs (default: lease / 3).
    heartbeat_seconds: float | None = None
    max_attempts: int = 3
    stopping: threading.Event = field(default_factory=threading.Event)

    def run_once(self) -> bool:
        """Claim and run one due job; False if none was due."""
        claimed = self._claim()
        if claimed is None:
            return False
        if isinstance(claimed, Claimed):
            self._run(claimed)
        return True

    def run_until_idle(self, max_jobs: int = 1000) -> int:
        done = 0
        while done < max_jobs and not self.stopping.is_set() and self.run_once():
            done += 1
        return done

    def run_forever(self, interval: float) -> None:
        while not self.stopping.is_set():
            try:
                worked = self.run_once()
            except Exception:
                log.exception("job worker pass failed; will retry")
                worked = False
            if not worked:
                self.stopping.wait(interval)

    def renew(self, claimed: Claimed) -> bool:
        with self.uow_factory() as uow:
            return repository.update_claimed(
                uow.session,
                claimed.id,
                claimed.token,
                {"lease_until": uow.now + self.lease, "updated_at": uow.now},
            )

    # --- steps -----------------------------------------------------------------------------

    def _claim(self) -> Claimed | bool | None:
        """The claimed job; True if a job was settled without running (failed); None."""
        token = new_id()
        with self.uow_factory() as uow:
            job = repository.lock_next_due(uow.session, uow.now)
            if job is None:
                return None
            failure = None
            if job.state == JobState.RUNNING.value and job.attempts >= self.max_attempts:
                failure = LOST_LEASE
            elif job.kind not in self.kinds:
                failure = f"no worker here runs jobs of kind {job.kind!r}"
            if failure is not None:
                job.state = JobState.FAILED.value
                job.error = failure
                job.claim_token = None
                job.lease_until = None
                job.finished_at = job.updated_at = uow.now
                log.error("job %s (%s) failed: %s", job.id, job.kind, failure)
                return True
            job.state = JobState.RUNNING.value
            job.attempts += 1
            job.claim_token = token
            job.lease_until = uow.now + self.lease
            job.started_at = job.started_at or uow.now
            job.updated_at = uow.now
            return Claimed(id=job.id, kind=job.kind, actor=job.requested_by, token=token)

    def _run(self, claimed: Claimed) -> None:
        def progress(done: int, message: str) -> None:
            with self.uow_factory() as uow:
                repository.update_claimed(
                    uow.session,
                    claimed.id,
                    claimed.token,
                    {
                        "progress_done": done,
                        "progress_message": message[:300],
                        "lease_until": uow.now + self.lease,
                        "updated_at": uow.now,
                    },
                )

        heartbeat = LeaseHeartbeat(
            lambda: self.renew(claimed),
            lease=self.lease,
            interval=self.heartbeat_seconds,
            what=f"job {claimed.id}",
        )
        heartbeat.start()
        try:
            function = self.kinds.resolve(claimed.kind)
            context = JobContext(
                self.uow_factory,
                self.read_uow_factory or self.uow_factory,
                claimed.actor,
                progress,
            )
            result = function(context)
        except Exception as exc:
            log.exception("job %s (%s) failed", claimed.id, claimed.kind)
            self._finish(claimed, JobState.FAILED, error=f"{type(exc).__name__}: {exc}")
        else:
            self._finish(claimed, JobState.SUCCEEDED, result=result)
        finally:
            heartbeat.stop()

    def _finish(
        self,
        claimed: Claimed,
        state: JobState,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        with self.uow_factory() as uow:
            recorded = repository.update_claimed(
                uow.session,
                claimed.id,
                claimed.token,
                {
                    "state": state.value,
                    "result": result,
                    "error": error[:ERROR_LIMIT] if error else None,
                    "claim_token": None,
                    "lease_until": None,
                    "finished_at": uow.now,
                    "updated_at": uow.now,
                },
            )
        if not recorded:
            log.warning("job %s: its lease ran out before it finished", claimed.id)


class BackgroundJobs:
    """A job worker in a daemon thread (the server runs one)."""

    def __init__(self, runner: JobRunner, interval: float) -> None:
        self.runner = runner
        self._thread = threading.Thread(
            target=runner.run_forever, args=(interval,), name="omniretail-jobs", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self.runner.stopping.set()
        self._thread.join(timeout)
