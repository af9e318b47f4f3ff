"""FastAPI's per-request telemetry check and its pass-through middlewares are not on the
request path (``api.framework``); bodies are still limited by our own middleware. What the app
built at startup is frozen for the garbage collector while it runs."""

from __future__ import annotations

import gc
import inspect
from typing import Any

from fastapi import FastAPI

from omniretail.api.framework import PASS_THROUGH
from omniretail.app import create_app


def _stack(app: Any) -> list[str]:
    names, layer = [], app.middleware_stack
    while layer is not None and not inspect.ismethod(layer):
        names.append(type(layer).__name__)
        layer = getattr(layer, "app", None)
    return names


def test_the_stack_holds_no_pass_through_middleware(client):
    assert client.get("/api/v1/health").status_code < 500
    names = _stack(client.app)
    assert "ServerErrorMiddleware" in names and "BodyLimitMiddleware" in names
    assert not PASS_THROUGH & set(names)


def test_fastapi_telemetry_is_off(container, monkeypatch):
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return  # this FastAPI has none
    app: Any = create_app(container, background_sweep=False)
    assert not app._native_telemetry.enabled()
    monkeypatch.setenv("OTEL_PYTHON_TRACER_PROVIDER", "sdk_tracer_provider")
    assert not app._native_telemetry.enabled()
    assert app._telemetry["auto_configure"] is False


def test_the_objects_built_at_startup_are_frozen_while_the_app_runs(container):
    from fastapi.testclient import TestClient

    with TestClient(create_app(container, background_sweep=False)) as client:
        assert client.get("/api/v1/health").status_code < 500
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
