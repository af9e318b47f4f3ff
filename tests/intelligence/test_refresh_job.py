"""The model refresh as a durable job: queued once however often the schedule asks, run by
the job worker, every model's results stored."""

from __future__ import annotations

from sqlalchemy import func, select

from omniretail.intelligence.jobs import REFRESH, queue_refresh
from omniretail.intelligence.models import CustomerScore, ProductForecast
from omniretail.intelligence.tasks import BackgroundRefresh
from omniretail.jobs import service as jobs_service
from tests.intelligence.helpers import AS_OF, STEADY, import_synthetic, levels, make_network


def count(container, model) -> int:
    with container.read_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_queued_refresh_job_fits_and_stores_every_model(container, tmp_path):
    import_synthetic(container, tmp_path)
    make_network(container)
    with container.uow() as uow:
        queued = queue_refresh(uow)
    with container.uow() as uow:
        assert queue_refresh(uow) is None  # one at a time
    assert queued is not None and queued.kind == REFRESH

    assert container.job_runner().run_until_idle() == 1

    with container.read_uow() as uow:
        done = jobs_service.get(uow, queued.id)
    assert done.state == "succeeded", done.error
    assert done.result is not None and done.result["as_of"] == AS_OF.isoformat()
    assert done.result["customers"] == count(container, CustomerScore) == 19
    assert done.result["forecast_rows"] == count(container, ProductForecast) > 0
    assert done.result["recommendations"] > 0
    assert levels(container)[(STEADY, "DC1")][2] is not None  # a reorder point written


def test_the_schedule_queues_the_job_when_the_server_works_jobs(container, tmp_path):
    import_synthetic(container, tmp_path)
    schedule = BackgroundRefresh(container, 3600, queue=True)
    schedule._queue()
    schedule._queue()  # the first is still queued: nothing more

    with container.read_uow() as uow:
        queued = jobs_service.recent(uow, kind=REFRESH)
    assert [job.state for job in queued] == ["queued"]
    assert schedule.runs == 1
    assert count(container, CustomerScore) == 0  # nothing ran in the schedule's thread
