"""``jobs.api.queue``: the answer of every route that queues a durable job."""

from __future__ import annotations

import pytest
from fastapi import Response

from omniretail.api.deps import UseCase
from omniretail.jobs import api as jobs_api
from omniretail.jobs import service
from omniretail.jobs.errors import JobAlreadyActive

KIND = "tests.queue-route"


def test_queue_gives_the_job_to_poll_and_refuses_a_second_while_active(container) -> None:
    use_case = UseCase(container, None, "queue")
    response = Response()
    job = jobs_api.queue(use_case, response, lambda uow: service.enqueue(uow, KIND, actor="t"))
    assert job.kind == KIND and job.state == "queued"
    assert response.headers["Location"] == f"/api/v1/jobs/{job.id}"

    again = Response()
    with pytest.raises(JobAlreadyActive):
        jobs_api.queue(use_case, again, lambda uow: service.enqueue(uow, KIND, actor="t"))
    assert "Location" not in again.headers
