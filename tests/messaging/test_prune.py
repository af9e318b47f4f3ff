"""``omniretail events prune``: published events older than a date go (with their deliveries),
in batches; unpublished ones stay, whatever their age."""

from __future__ import annotations

import gzip
import json

from sqlalchemy import update
from typer.testing import CliRunner

from omniretail.commands.main import app
from omniretail.db.outbox import OutboxMessage
from omniretail.kernel.events import DomainEvent
from omniretail.messaging import service
from omniretail.notifications import service as notifications
from omniretail.notifications.schemas import SubscriptionCreate
from tests.messaging.conftest import deliveries, outbox, record


def _old_and_new_events(container, clock, receiver) -> tuple[list[str], str, str]:
    """Four events ten days ago (one of them left unpublished, as a dead delivery leaves it)
    and one today, all delivered to a webhook."""
    with container.uow() as uow:
        notifications.create_subscription(
            uow,
            SubscriptionCreate.model_validate({"url": receiver.url, "event_types": ["*"]}),
            actor="test",
            allow_private_networks=True,  # the receiver listens on loopback
        )
    old = record(
        container,
        *(DomainEvent("catalog.sku_created", f"skus/{n}", {"n": n}) for n in range(4)),
    )
    clock.advance(days=10)
    (new,) = record(container, DomainEvent("catalog.sku_created", "skus/new", {}))
    container.relay().run_until_idle()
    stuck = old[1]
    with container.uow() as uow:
        uow.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == stuck).values(published_at=None)
        )
    return old, stuck, new


def test_prune_deletes_published_events_before_the_date_in_batches(container, clock, receiver):
    _old, stuck, new = _old_and_new_events(container, clock, receiver)
    before = clock.now().replace(hour=0)
    assert len(deliveries(container)) == 5
    with container.read_uow() as uow:
        assert service.count_prunable(uow, before) == (3, 1)

    position, pruned = 0, []
    while True:
        with container.uow() as uow:
            batch = service.prune_published(uow, before, after_position=position, limit=2)
        if not batch.events:
            break
        pruned.append(batch.deleted)
        position = batch.last_position
    assert pruned == [2, 1]
    assert [m.id for m in outbox(container)] == [stuck, new]
    assert sorted(d.message_id for d in deliveries(container)) == sorted([stuck, new])


def test_prune_command_archives_then_deletes(container, clock, receiver, monkeypatch, tmp_path):
    monkeypatch.setenv("OMNIRETAIL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OMNIRETAIL_DATABASE_URL", str(container.settings.database_url))
    if container.settings.database_schema:
        monkeypatch.setenv("OMNIRETAIL_DATABASE_SCHEMA", container.settings.database_schema)
    monkeypatch.setenv("COLUMNS", "200")
    old, stuck, new = _old_and_new_events(container, clock, receiver)
    day = (clock.now().date()).isoformat()
    runner = CliRunner()

    counted = runner.invoke(app, ["events", "prune", "--before", day, "--dry-run"])
    assert counted.exit_code == 0, counted.output
    assert "3 published events before" in " ".join(counted.output.split())
    assert "1 unpublished ones before it are kept" in " ".join(counted.output.split())
    assert len(outbox(container)) == 5

    assert runner.invoke(app, ["events", "prune", "--before", "2999-01-01"]).exit_code == 2
    refused = runner.invoke(app, ["events", "prune", "--before", "yesterday"])
    assert refused.exit_code == 2 and "expected YYYY-MM-DD" in refused.output

    archive = tmp_path / "outbox.jsonl.gz"
    pruned = runner.invoke(
        app,
        ["events", "prune", "--before", day, "--batch", "2", "--archive", str(archive), "--yes"],
    )
    assert pruned.exit_code == 0, pruned.output
    assert "deleted 3 published events" in " ".join(pruned.output.split())
    with gzip.open(archive, "rt") as lines:
        archived = [json.loads(line) for line in lines]
    assert [e["id"] for e in archived] == [i for i in old if i != stuck]
    assert [e["data"] for e in archived] == [{"n": 0}, {"n": 2}, {"n": 3}]
    assert [m.id for m in outbox(container)] == [stuck, new]
