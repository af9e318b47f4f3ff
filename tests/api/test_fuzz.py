"""A bounded schemathesis run over the whole OpenAPI document, as an admin, on SQLite and
PostgreSQL: every operation gets valid (positive) and invalid (negative) requests generated
from its schema with a fixed seed, and every answer must be no server error, match the
documented response schema, and carry a documented status code.

The operations are dealt into ``SHARDS`` tests per database, so the test workers share them.
Coverage is not measured here (``no_cover``): its tracer made the run half again as long,
mostly in the generation; the routes' code is measured by their own tests.

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
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive

SEED = 20261204
SHARDS = 3
# Examples per operation and mode: about two minutes per database, without coverage.
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 4}
KNOWN_EXAMPLES = 8
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


def known_rows(client: TestClient) -> dict[str, Any]:
    """Rows that exist, by path parameter name: a third pass fuzzes the bodies and queries of
    operations whose path names only these, so requests reach past the 404."""
    make_customer_body = {"name": "Fuzz Customer", "identities": []}
    customer = ok(client.post("/api/v1/customers", json=make_customer_body), 201)
    customer_id = customer.get("id") or customer["customer"]["id"]
    cart = new_cart(client, customer_id=customer_id)
    ok(add(client, cart, "A1", 1, location="LON1"))
    order = ok(checkout(client, new_cart_with_line(client), "pickup_in_store", pickup="LON1"), 201)
    hold = ok(
        client.post(
            "/api/v1/inventory/reservations",
            json={"sku": "A1", "location": "LON1", "channel": "WEB", "quantity": 1},
        ),
        201,
    )
    return {
        "customer_id": customer_id,
        "token": cart,
        "number": order["number"],
        "fid": order["fulfilments"][0]["id"],
        "hold_id": hold["id"],
        "sku": "A1",
        "channel": "WEB",
        "location": "LON1",
    }


def new_cart_with_line(client: TestClient) -> str:
    token = new_cart(client)
    ok(add(client, token, "A1", 1, location="LON1"))
    return token


@pytest.mark.no_cover
@pytest.mark.parametrize("shard", range(SHARDS))
def test_fuzz_the_whole_api(
    container: Container, capsys: pytest.CaptureFixture[str], shard: int
) -> None:
    # every request comes from one address: let it past the public routes' throttle (429)
    container.settings.public_requests_per_window = 10**6
    make_orders_network(container)
    for sku, location in [("A1", "LON1"), ("B2", "DC1")]:
        receive(container, sku, location, 50)
    app = create_app(container, background_sweep=False)
    key = admin_api_key(container)
    with TestClient(app, headers={"X-API-Key": key}) as client:  # runs the lifespan once
        known = known_rows(client)
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    figures: collections.Counter[str] = collections.Counter()
    failures: dict[str, str] = {}
    started = time.perf_counter()
    for index, result in enumerate(schema.get_all_operations()):
        operation = result.ok()
        if index % SHARDS != shard or (operation.method.upper(), operation.path) in SKIP:
            continue
        figures["operations"] += 1
        names = [p.name for p in operation.path_parameters]
        passes: list[tuple[str, GenerationMode, int, dict[str, Any] | None]] = [
            (mode.value, mode, examples, None) for mode, examples in EXAMPLES.items()
        ]
        if names and all(name in known for name in names):
            path = {name: known[name] for name in names}
            passes.append(("known rows", GenerationMode.POSITIVE, KNOWN_EXAMPLES, path))
        for label, mode, examples, path in passes:
            try:
                _fuzz(operation, mode, examples, key, figures, path)
            except Unsatisfiable:
                pass  # nothing to make invalid (no parameters, no body)
            except Exception as exc:
                figures["failed operations"] += 1
                failures.setdefault(f"{operation.label} ({label})", str(exc)[:2000])
    figures["seconds"] = round(time.perf_counter() - started)
    with capsys.disabled():
        print(
            f"\nschemathesis {schemathesis.__version__}, {container.backend}, shard {shard}:"
            f" {dict(figures)}"
        )
    assert figures["operations"] > 0 and figures["requests"] > figures["operations"]
    assert figures["server errors"] == 0
    assert not failures, "\n\n".join(f"{label}:\n{error}" for label, error in failures.items())


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    key: str,
    figures: collections.Counter[str],
    path_parameters: dict[str, Any] | None = None,
) -> None:
    @seed(SEED)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
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
