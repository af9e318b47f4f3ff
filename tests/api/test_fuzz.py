"""A bounded schemathesis run over the whole OpenAPI document, as an admin, on SQLite and
PostgreSQL: every operation gets valid (positive) and invalid (negative) requests generated
from its schema with a fixed seed, and every answer must be no server error, match the
documented response schema, and carry a documented status code.

The figures (requests, answers by status, failures) are printed; run
``pytest tests/api/test_fuzz.py -n 0 -s`` to see them. Nothing here names a route except
the skip list, so routes added later are fuzzed too."""

from __future__ import annotations

import collections
import time
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis import checks as sc

from omniretail.app import create_app
from omniretail.bootstrap import Container
from tests.conftest import admin_api_key
from tests.orders.network import make_orders_network, receive

SEED = 20261204
# Examples per operation and mode: about a minute per database on two cores.
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 4}
CHECKS = [
    sc.not_a_server_error,
    sc.response_schema_conformance,
    sc.status_code_conformance,
    sc.content_type_conformance,
]
SKIP = {
    # A form (not JSON) that hashes the password with Argon2 per request, and is throttled:
    # covered by tests/auth; fuzzing it would only time Argon2.
    ("POST", "/api/v1/auth/token"),
}


def test_fuzz_the_whole_api(container: Container, capsys: pytest.CaptureFixture[str]) -> None:
    make_orders_network(container)
    for sku, location in [("A1", "LON1"), ("B2", "DC1")]:
        receive(container, sku, location, 50)
    app = create_app(container, background_sweep=False)
    key = admin_api_key(container)
    with TestClient(app):  # runs the lifespan once
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    figures: collections.Counter[str] = collections.Counter()
    failures: dict[str, str] = {}
    started = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        figures["operations"] += 1
        for mode, examples in EXAMPLES.items():
            try:
                _fuzz(operation, mode, examples, key, figures)
            except Unsatisfiable:
                pass  # nothing to make invalid (no parameters, no body)
            except Exception as exc:
                figures["failed operations"] += 1
                failures.setdefault(f"{operation.label} ({mode.value})", str(exc)[:2000])
    figures["seconds"] = round(time.perf_counter() - started)
    with capsys.disabled():
        print(f"\nschemathesis {schemathesis.__version__}, {container.backend}: {dict(figures)}")
    assert figures["server errors"] == 0
    assert not failures, "\n\n".join(f"{label}:\n{error}" for label, error in failures.items())


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    key: str,
    figures: collections.Counter[str],
) -> None:
    @seed(SEED)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        figures["requests"] += 1
        try:
            response = case.call(headers={"X-API-Key": key})
        except Exception:
            figures["server errors"] += 1  # the test client re-raises what the app did not handle
            raise
        figures[f"{response.status_code // 100}xx"] += 1
        if response.status_code >= 500:
            figures["server errors"] += 1
        case.validate_response(response, checks=CHECKS)

    run()
