from __future__ import annotations

from omniretail.kernel.errors import Conflict, InvalidRequest, NotFound


class UnknownJob(NotFound):
    slug = "unknown-job"
    title = "No such job"


class UnknownJobKind(InvalidRequest):
    slug = "unknown-job-kind"
    title = "No such kind of job"


class JobAlreadyActive(Conflict):
    slug = "job-already-active"
    title = "A job of this kind is already queued or running"
