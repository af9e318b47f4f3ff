"""The server runs the relay as a background task; an app built for tests does not."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from omniretail.app import create_app
from omniretail.kernel.events import DomainEvent
from omniretail.messaging.handlers import UowFactory
from tests.drain import drain
from tests.messaging.conftest import outbox, record


def test_the_server_relays_committed_events_in_the_background(container):
    container.settings = container.settings.model_copy(update={"relay_interval_seconds": 0.02})
    seen: list[str] = []

    def handler(event: dict[str, Any], _uow_factory: UowFactory) -> None:
        seen.append(event["id"])

    container.handlers.add("omniretail.test.*", "test.seen", handler)

    with TestClient(create_app(container, background_sweep=False, background_relay=True)):
        (event_id,) = record(container, DomainEvent("test.happened", "things/1", {}))
        deadline = time.monotonic() + 10
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)

    assert seen == [event_id]
    assert outbox(container)[0].published_at is not None


def test_an_app_built_without_background_work_leaves_the_outbox_alone(container, monkeypatch):
    started: list[object] = []
    monkeypatch.setattr(
        "omniretail.app.BackgroundRelay", lambda *args: started.append(args) or pytest.fail()
    )

    with TestClient(create_app(container, background_sweep=False)):
        record(container, DomainEvent("test.happened", "things/1", {}))

    assert started == []  # no relay thread: nothing can publish behind the test's back
    assert outbox(container)[0].published_at is None
    # The event was left for a relay: draining it now publishes it.
    assert drain(container).published == 1
