"""The scheduled refresh in the server: off unless OMNIRETAIL_INTELLIGENCE_REFRESH_SECONDS is
set (and never in an app built without background work unless asked); when on, it refits
every model and stores the results."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select

from omniretail.app import create_app
from omniretail.intelligence.models import CustomerScore
from omniretail.intelligence.tasks import IntelligenceSettings
from tests.conftest import admin_api_key
from tests.intelligence.helpers import AS_OF, STEADY, events, import_synthetic, levels, make_network

REFRESHED = "omniretail.intelligence.scores_refreshed"


def scored_customers(container) -> int:
    with container.read_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(CustomerScore)) or 0)


def test_the_server_refreshes_the_models_when_enabled(container, tmp_path, monkeypatch):
    import_synthetic(container, tmp_path)
    make_network(container)
    monkeypatch.setenv("OMNIRETAIL_INTELLIGENCE_REFRESH_SECONDS", "0.2")
    app = create_app(container, background_sweep=False, background_intelligence=True)
    headers = {"X-API-Key": admin_api_key(container)}

    with TestClient(app, headers=headers) as client:
        deadline = time.monotonic() + 60
        while not events(container, REFRESHED) and time.monotonic() < deadline:
            time.sleep(0.2)
        response = client.get("/api/v1/intelligence/customers/1")
    # Leaving the server waited for any refresh in progress.

    assert events(container, REFRESHED), "no refresh within 60 s"
    assert events(container, REFRESHED)[0]["rows"] == scored_customers(container) == 19
    assert response.status_code == 200
    assert response.json()["as_of"] == AS_OF.isoformat()
    assert levels(container)[(STEADY, "DC1")][2] is not None  # a reorder point written


@pytest.mark.parametrize("backend", ["sqlite"])
def test_no_refresh_unless_enabled(container, tmp_path, monkeypatch):
    import_synthetic(container, tmp_path)
    monkeypatch.setenv("OMNIRETAIL_INTELLIGENCE_REFRESH_SECONDS", "0.05")
    quiet = create_app(container, background_sweep=False)  # tests: no background work
    monkeypatch.delenv("OMNIRETAIL_INTELLIGENCE_REFRESH_SECONDS")
    unset = create_app(container, background_sweep=False, background_intelligence=True)

    started: list[object] = []
    monkeypatch.setattr(
        "omniretail.app.BackgroundRefresh", lambda *args: started.append(args) or pytest.fail()
    )

    for app in (quiet, unset):
        with TestClient(app):
            pass

    assert started == []  # no refresh thread in either server
    assert events(container, REFRESHED) == []
    assert scored_customers(container) == 0


@pytest.mark.parametrize("level", ["1.0", "0.2", "nan"])
def test_a_service_level_outside_the_clis_bounds_is_refused_at_start(monkeypatch, level):
    """As the CLI's --service-level (0.5-0.999): 1.0 would ask for an infinite safety stock."""
    monkeypatch.setenv("OMNIRETAIL_INTELLIGENCE_SERVICE_LEVEL", level)
    with pytest.raises(ValidationError, match="service_level"):
        IntelligenceSettings()
