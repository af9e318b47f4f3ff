"""Long work started from the console (model runs, analytics) in a background thread, with
progress the page polls. Jobs live in the server process (one registry per app); a restart
forgets them, and the work they stored stays stored."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from omniretail.kernel.ids import new_id

log = logging.getLogger("omniretail.web.jobs")
KEEP = 20


@dataclass
class Job:
    id: str
    name: str
    started_by: str
    steps: int
    done: int = 0
    message: str = "starting"
    status: str = "running"  # running | done | failed
    result: Any = None
    error: str | None = None
    started_at: float = field(default_factory=time.monotonic)
    finished_at: float | None = None

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return min(99, int(100 * self.done / max(1, self.steps)))

    @property
    def seconds(self) -> float:
        return round((self.finished_at or time.monotonic()) - self.started_at, 1)


class Progress:
    """What a job's function reports: ``progress("forecast 4,000 SKUs")`` after each step."""

    def __init__(self, job: Job) -> None:
        self._job = job

    def __call__(self, message: str) -> None:
        self._job.done += 1
        self._job.message = message


class JobRegistry:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, name: str, steps: int, started_by: str, work: Callable[[Progress], Any]) -> Job:
        """Starts ``work`` unless a job of the same name is running (then returns that one)."""
        with self._lock:
            running = self.running(name)
            if running is not None:
                return running
            job = Job(id=new_id(), name=name, started_by=started_by, steps=steps)
            self._jobs[job.id] = job
            for old in list(self._jobs.values())[:-KEEP]:
                del self._jobs[old.id]
        threading.Thread(target=self._run, args=(job, work), daemon=True, name=name).start()
        return job

    def _run(self, job: Job, work: Callable[[Progress], Any]) -> None:
        try:
            job.result = work(Progress(job))
            job.status = "done"
            job.message = "finished"
        except Exception as exc:  # shown on the page; the log has the trace
            log.exception("console job %s failed", job.name)
            job.status = "failed"
            job.error = f"{type(exc).__name__}: {exc}"
        finally:
            job.finished_at = time.monotonic()

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def running(self, name: str) -> Job | None:
        return next(
            (j for j in self._jobs.values() if j.name == name and j.status == "running"), None
        )

    def latest(self, name: str) -> Job | None:
        found = [j for j in self._jobs.values() if j.name == name]
        return found[-1] if found else None
