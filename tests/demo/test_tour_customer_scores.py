"""The tour's customer, made after the intelligence batch, is scored as of the batch's date:
her segment and p_alive compare with everyone's, and the demo's line says that date."""

from __future__ import annotations

import io

from rich.console import Console
from sqlalchemy import delete

from omniretail.demo import cli as demo_cli
from omniretail.intelligence.models import CustomerScore
from omniretail.intelligence.service import get_customer_scores
from omniretail.intelligence.tasks import refresh_all
from tests.intelligence.helpers import LOYAL, customer_ids, import_synthetic


def test_a_customer_scored_after_the_batch_is_scored_as_of_its_date(
    container, tmp_path, monkeypatch
):
    import_synthetic(container, tmp_path)
    batch = refresh_all(container)
    assert batch.as_of < container.clock.now().date()  # a history that ended in the past
    customer_id = customer_ids(container)[LOYAL]
    with container.uow() as uow:
        as_batch = get_customer_scores(uow, customer_id, 0)
        uow.session.execute(delete(CustomerScore).where(CustomerScore.customer_id == customer_id))
    printed = io.StringIO()
    monkeypatch.setattr(demo_cli, "console", Console(file=printed, width=400))

    demo_cli._score_tour_customer(container, customer_id)

    with container.read_uow() as uow:
        rescored = get_customer_scores(uow, customer_id, 0)
    assert rescored.computed_at is not None and rescored.computed_at >= as_batch.computed_at
    assert rescored.as_of == batch.as_of
    assert (rescored.segment, rescored.p_alive) == (as_batch.segment, as_batch.p_alive)
    assert f"as of {batch.as_of:%Y-%m-%d}, the batch's date" in printed.getvalue()
