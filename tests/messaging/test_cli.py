"""``omniretail events relay | dead-letters | replay`` against a real database file."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from omniretail.commands.main import app
from omniretail.kernel.events import DomainEvent
from omniretail.notifications import service
from omniretail.notifications.schemas import SubscriptionCreate
from tests.messaging.conftest import deliveries, record


@pytest.mark.parametrize("backend", ["sqlite"])
def test_operator_relays_lists_dead_letters_and_replays(container, receiver, monkeypatch, tmp_path):
    monkeypatch.setenv("OMNIRETAIL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OMNIRETAIL_RELAY_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("COLUMNS", "200")
    db = ["--db", str(container.settings.database_url)]
    runner = CliRunner()
    with container.uow() as uow:
        service.create_subscription(
            uow,
            SubscriptionCreate.model_validate({"url": receiver.url, "event_types": ["*"]}),
            actor="test",
            allow_private_networks=True,
        )
    (event_id,) = record(container, DomainEvent("catalog.sku_created", "skus/10001", {}))
    receiver.statuses.extend([500])

    relayed = runner.invoke(app, ["events", "relay", "--once", *db])
    assert relayed.exit_code == 0, relayed.output
    assert "delivered 0, skipped 0, retrying 0, dead 1, published 0 events" in relayed.output

    listed = runner.invoke(app, ["events", "dead-letters", *db])
    assert listed.exit_code == 0, listed.output
    assert event_id in listed.output and "webhook:1" in listed.output
    assert "1 dead letters" in listed.output

    replayed = runner.invoke(app, ["events", "replay", event_id, *db])
    assert replayed.exit_code == 0, replayed.output
    assert f"delivery 1 (webhook:1, event {event_id}) is due again" in replayed.output
    again = runner.invoke(app, ["events", "replay", "1", *db])
    assert again.exit_code == 1
    assert "delivery 1 is pending, not dead" in again.output

    relayed = runner.invoke(app, ["events", "relay", "--once", *db])
    assert "delivered 1, skipped 0, retrying 0, dead 0, published 1 events" in relayed.output
    assert [(d.status, d.attempts) for d in deliveries(container)] == [("delivered", 1)]
    assert len(receiver.requests) == 2
