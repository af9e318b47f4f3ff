"""Durable jobs: one queued or running per kind across processes, run by a worker with a
renewed lease, taken over after a crash (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from omniretail.bootstrap import build_container
from omniretail.jobs import service
from omniretail.jobs.errors import JobAlreadyActive
from omniretail.jobs.runner import JobContext, JobKinds, JobRunner
from omniretail.loyalty import service as loyalty
from tests.customers.helpers import make_customer
from tests.loyalty.test_ledger import earn, status

API = "/api/v1"


def job(client, job_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/jobs/{job_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_two_requests_at_once_queue_one_job_and_refuse_the_other_naming_it(client):
    barrier = threading.Barrier(2)

    def ask(_: int) -> Any:
        barrier.wait()
        return client.post(f"{API}/loyalty/jobs/release")

    with ThreadPoolExecutor(2) as pool:
        responses = sorted(pool.map(ask, range(2)), key=lambda r: r.status_code)

    accepted, refused = responses
    assert (accepted.status_code, refused.status_code) == (202, 409), refused.text
    queued = accepted.json()
    assert accepted.headers["location"] == f"/api/v1/jobs/{queued['id']}"
    assert (queued["kind"], queued["state"]) == ("loyalty.release", "queued")
    problem = refused.json()
    assert refused.headers["content-type"] == "application/problem+json"
    assert problem["type"].endswith("/job-already-active")
    assert problem["job_id"] == queued["id"]
    assert problem["job_location"] == f"/api/v1/jobs/{queued['id']}"
    # Another kind is not held back.
    assert client.post(f"{API}/loyalty/jobs/expire").status_code == 202


def test_the_database_keeps_one_active_job_per_kind_across_processes(container, backend):
    # A second container has engines of its own: another process, as far as the database sees.
    other = build_container(container.settings, clock=container.clock)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def ask(factory: Any) -> None:
        barrier.wait()
        try:
            with factory() as uow:
                outcomes.append(service.enqueue(uow, "loyalty.release", actor="t").id)
        except JobAlreadyActive as refused:
            outcomes.append(f"refused:{refused.extra.get('job_id')}")

    try:
        threads = [threading.Thread(target=ask, args=(f,)) for f in (container.uow, other.uow)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other.dispose()

    ids = [o for o in outcomes if not o.startswith("refused:")]
    assert len(ids) == 1
    assert outcomes.count(f"refused:{ids[0]}") == 1


def test_the_worker_runs_the_job_and_its_result_is_visible(client, container, clock):
    customer = make_customer(container)
    earn(container, customer, "O1", [(1, "50.00", 1)])
    clock.advance(days=31)
    started = client.post(f"{API}/loyalty/jobs/release").json()

    assert container.job_runner().run_until_idle() == 1

    done = job(client, started["id"])
    assert (done["state"], done["result"], done["error"]) == ("succeeded", {"processed": 1}, None)
    assert (done["attempts"], done["progress_done"]) == (1, 1)
    assert status(container, customer).pending == 0
    # Finished, the kind is free again; the recompute job reports the ledger agrees.
    again = client.post(f"{API}/loyalty/jobs/recompute")
    assert again.status_code == 202
    container.job_runner().run_until_idle()
    checked = job(client, again.json()["id"])
    assert checked["state"] == "succeeded"
    assert checked["result"]["drift_count"] == 0
    listed = client.get(f"{API}/jobs", params={"kind": "loyalty.release"}).json()
    assert [j["id"] for j in listed] == [started["id"]]


def test_an_unknown_job_is_a_404_problem_and_an_unknown_name_a_422(client):
    missing = client.get(f"{API}/jobs/nope")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/unknown-job")
    assert client.post(f"{API}/loyalty/jobs/everything").status_code == 422


def kinds_with(kind: str, function: Any) -> JobKinds:
    kinds = JobKinds()
    kinds.add(kind, function)
    return kinds


def queue(container, kind: str) -> str:
    with container.uow() as uow:
        return service.enqueue(uow, kind, actor="t").id


def read(container, job_id: str) -> Any:
    with container.read_uow() as uow:
        return service.get(uow, job_id)


LEASE = timedelta(seconds=60)


def test_a_crashed_workers_job_is_taken_over_after_its_lease(container, clock):
    runs: list[str] = []
    kinds = kinds_with("test.work", lambda ctx: runs.append(ctx.actor) or {"ok": True})
    job_id = queue(container, "test.work")
    crashed = JobRunner(container.uow, kinds, lease=LEASE)
    assert crashed._claim() is not None  # claimed, then the process dies
    survivor = JobRunner(container.uow, kinds, lease=LEASE)
    clock.advance(seconds=59)
    assert not survivor.run_once()

    clock.advance(seconds=1)
    assert survivor.run_once()

    done = read(container, job_id)
    assert (done.state, done.attempts, done.result, runs) == ("succeeded", 2, {"ok": True}, ["t"])


def test_a_job_whose_worker_keeps_dying_is_failed(container, clock):
    kinds = kinds_with("test.work", lambda ctx: {})
    job_id = queue(container, "test.work")
    runner = JobRunner(container.uow, kinds, lease=LEASE, max_attempts=2)
    for _ in range(2):
        assert runner._claim() is not None
        clock.advance(seconds=60)

    assert runner.run_once()

    failed = read(container, job_id)
    assert (failed.state, failed.attempts) == ("failed", 2)
    assert "lease ran out" in (failed.error or "")
    # The kind is free again.
    queue(container, "test.work")


def test_a_job_that_raises_is_failed_with_its_error(container):
    def broken(_ctx: JobContext) -> dict[str, Any]:
        raise RuntimeError("no such programme")

    job_id = queue(container, "test.broken")
    JobRunner(container.uow, kinds_with("test.broken", broken)).run_until_idle()

    failed = read(container, job_id)
    assert (failed.state, failed.error) == ("failed", "RuntimeError: no such programme")


class WatchedRunner(JobRunner):
    renewed: threading.Event

    def renew(self, claimed: Any) -> bool:
        result = super().renew(claimed)
        self.renewed.set()
        return result


def test_a_long_jobs_lease_is_renewed_so_no_other_worker_runs_it(container, clock):
    runs: list[int] = []
    others: list[bool] = []
    runner = WatchedRunner(container.uow, JobKinds(), lease=LEASE, heartbeat_seconds=0.01)
    runner.renewed = threading.Event()

    def slow(_ctx: JobContext) -> dict[str, Any]:
        runs.append(1)
        other = JobRunner(container.uow, runner.kinds, lease=LEASE)
        for _ in range(3):  # three times the lease
            clock.advance(seconds=50)
            for _ in range(2):  # the second renewal began after the advance
                runner.renewed.clear()
                assert runner.renewed.wait(timeout=10), "the heartbeat did not renew the lease"
            clock.advance(seconds=10)
            others.append(other.run_once())
        return {}

    runner.kinds.add("test.slow", slow)
    job_id = queue(container, "test.slow")

    assert runner.run_once()

    assert runs == [1]
    assert others == [False, False, False]
    assert read(container, job_id).state == "succeeded"


@pytest.mark.parametrize("name", ["release", "expire", "birthdays", "recompute"])
def test_every_loyalty_job_runs_to_success_on_an_empty_programme(client, container, name):
    started = client.post(f"{API}/loyalty/jobs/{name}")
    assert started.status_code == 202, started.text
    container.job_runner().run_until_idle()
    assert job(client, started.json()["id"])["state"] == "succeeded"


def test_release_in_batches_reports_progress(container, clock, monkeypatch):
    from omniretail.loyalty import jobs as loyalty_jobs

    monkeypatch.setattr(loyalty_jobs, "BATCH", 1)
    customers = [make_customer(container, email=f"c{i}@example.com") for i in range(3)]
    for i, customer in enumerate(customers):
        earn(container, customer, f"O{i}", [(1, "50.00", 1)])
    clock.advance(days=31)
    job_id = queue(container, "loyalty.release")

    container.job_runner().run_until_idle()

    done = read(container, job_id)
    assert (done.state, done.result, done.progress_done) == ("succeeded", {"processed": 3}, 3)
    assert done.progress_message == "3 lots released"
    with container.read_uow() as uow:
        assert all(loyalty.account_status(uow, c).pending == 0 for c in customers)
