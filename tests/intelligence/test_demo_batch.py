"""``omniretail demo`` runs the intelligence batch once, with progress, after building the
network: segments, CLV, recommendations, forecasts and the distribution centre's reorder
points; a second run leaves them alone."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from omniretail.commands.main import app
from omniretail.customers.models import Customer
from omniretail.demo.network import DC
from omniretail.history.shift import shift_to_recent
from omniretail.intelligence.models import CustomerScore, ProductForecast
from tests.history.logs import write_log
from tests.intelligence.helpers import cli_env, events, levels


def count(container, model) -> int:
    with container.read_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_demo_scores_the_history_once(container, tmp_path):
    log = write_log(tmp_path / "log.parquet")
    args = ["demo", "--data", str(log), "--no-serve"]

    first = CliRunner().invoke(app, args, env=cli_env(container, tmp_path))

    assert first.exit_code == 0, first.output
    text = " ".join(first.output.split())
    assert "intelligence done" in text and "6/6" in text  # the progress bar
    # The log ends 2010-08-03; the demo moves it into the last year (history.shift).
    moved = shift_to_recent(date(2010, 8, 3), date.today()).apply(date(2010, 8, 3))
    assert f"intelligence: as of {moved + timedelta(days=1):%Y-%m-%d}," in text
    # Every customer imported before the batch is scored by it; the people the demo adds
    # afterwards (its tour customer's two profiles) are scored on their own as of today.
    batch = re.search(r"([\d,]+) customers scored", text)
    assert batch is not None
    scored = int(batch.group(1).replace(",", ""))
    assert 0 < scored < count(container, Customer) <= count(container, CustomerScore)
    assert count(container, ProductForecast) > 0
    stock = levels(container)
    planned = {sku for (sku, location), v in stock.items() if location == DC and v[2] is not None}
    assert planned == {"22041", "85123A"}  # the lines that sold in the last 13 weeks
    assert f"{len(planned)} reorder points" in text
    refreshed = events(container, "omniretail.intelligence.scores_refreshed")

    again = CliRunner().invoke(app, args, env=cli_env(container, tmp_path))

    assert again.exit_code == 0, again.output
    assert "exist; not recomputed" in " ".join(again.output.split())
    assert events(container, "omniretail.intelligence.scores_refreshed") == refreshed
    assert levels(container) == stock
