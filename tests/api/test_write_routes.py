"""Every write of the HTTP API goes through the unit-of-work runner (``api.deps.UseCase.run``:
one transaction with its audit-log row, a retry on serialization failures, Idempotency-Key
replay). The test walks the routes of the OpenAPI app and looks for the runner's dependency
(``get_use_case``) in each write route's dependency tree; a new write route that opens its own
transaction fails here unless it is added, with its reason, to the allow-list below.

The console (``/hq``, ``/store``, ``/account``, ``/signin``; not in the OpenAPI document) has its
own runner, ``web.deps.change``, and is not walked here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from omniretail.api.deps import get_use_case, read_uow, replica_read_uow
from omniretail.app import create_app
from omniretail.bootstrap import build_container
from omniretail.settings import Settings

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Writes through POST that only read: a query too big or too private for a URL. They must run
# in a read transaction (``read_uow`` or ``replica_read_uow``), which the test checks too.
READS: dict[str, str] = {
    # A message rendered for one customer on one channel: nothing is sent or stored.
    "POST /api/v1/marketing/messages/{code}/preview": "a message previewed, not sent",
    # Up to 1,000 SKUs: too long for a query string.
    "POST /api/v1/inventory/availability/query": "a batch availability query",
    # A whole order to explain: nothing is placed or reserved.
    "POST /api/v1/routing/simulate": "a routing decision explained, not taken",
    # A dry run of the dynamic pricing rules: what would change, nothing changed.
    "POST /api/v1/dynamic-pricing/preview": "a dynamic pricing run proposed, not applied",
    # An email or a phone number stays out of URLs and access logs.
    "POST /api/v1/customers/lookup": "a lookup by personal data",
    # A name or a postcode stays out of URLs and access logs.
    "POST /api/v1/customers/search": "a search by personal data",
    # A segment rule counted against the customers: nothing saved.
    "POST /api/v1/marketing/segments/preview": "a segment rule counted, nothing saved",
    # Lines to price: nothing is stored or reserved.
    "POST /api/v1/pricing/quote": "a price quote, nothing stored",
}

# Writes that deliberately do not run through UseCase.run.
OWN_TRANSACTIONS: dict[str, str] = {
    # Public (no principal: the runner would give neither audit row nor an idempotency scope).
    # The failure throttle is charged and committed in its own transaction before the Argon2
    # check, and must stay committed when the answer is a failure, which the runner's single
    # transaction would roll back; the answer is a token, which must never be stored for replay.
    "POST /api/v1/auth/token": "sign-in: throttle committed on failure, token not replayable",
    # Same throttle on the current password; the answer is a fresh token (never stored).
    "POST /api/v1/auth/password": "password change: throttle committed on failure, new token",
    # Public. A wrong code counts against the code's attempts and that count must be committed
    # when the answer is a failure; a success answers with a token (never stored).
    "POST /api/v1/auth/password-reset": "reset redeemed: attempts committed on failure, token",
    # Public. The per-email and per-address request limits are committed whatever the outcome,
    # and the answer is the same whether or not the email is known (no audit subject to name).
    "POST /api/v1/auth/password-reset/request": "reset requested: public, limits committed",
    # Public. The per-address question limit is committed in its own transaction; the answer
    # is read in a read transaction and nothing else is written.
    "POST /api/v1/support/assistant": "assistant question: public, limit committed, read",
    # The same for a signed-in customer (their own orders and points).
    "POST /api/v1/support/assistant/me": "assistant question: limit committed, read",
    # The bearer token's own revocation: no audit subject beyond the session, nothing to replay.
    "POST /api/v1/auth/signout": "sign-out: the token's revocation in its own transaction",
}


# Writes that build the runner themselves (``api.deps.use_case_and_actor``) and run through
# UseCase.run: hot routes spared FastAPI's solving of its dependency and headers.
RUNNER_BUILT_BY_ROUTE: dict[str, str] = {
    "POST /api/v1/inventory/reservations": "a flash sale's hot write, one statement",
    "POST /api/v1/carts": "a shopper's first write",
    "POST /api/v1/carts/{token}/lines": "a shopper's add to cart",
    "POST /api/v1/carts/{token}/checkout": "the checkout, two transactions round the card",
}


def _app(tmp_path: Path) -> Iterator[FastAPI]:
    container = build_container(
        Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path)
    )
    try:
        yield create_app(container, background_sweep=False)
    finally:
        container.dispose()


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[Callable[..., Any] | None]]:
    for app in _app(tmp_path_factory.mktemp("write-routes")):
        return write_routes(app)
    raise AssertionError("unreachable")


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any] | None]:
    yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def write_routes(app: FastAPI) -> dict[str, set[Callable[..., Any] | None]]:
    """``"METHOD path"`` of every write route in the OpenAPI document -> every callable in its
    dependency tree (the endpoint, its dependencies, theirs...)."""
    found: dict[str, set[Callable[..., Any] | None]] = {}
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        assert route.dependant is not None
        for method in sorted(route.methods & WRITE_METHODS):
            found[f"{method} {route.path}"] = set(_calls(route.dependant))
    return found


def test_every_write_route_runs_through_the_use_case_runner(
    routes: dict[str, set[Callable[..., Any] | None]],
) -> None:
    bypassing = {name for name, calls in routes.items() if get_use_case not in calls}

    assert len(routes) > 60  # the walk found the API (not an empty app)
    allowed = READS.keys() | OWN_TRANSACTIONS.keys() | RUNNER_BUILT_BY_ROUTE.keys()
    assert sorted(bypassing - allowed) == []
    # The allow-list names only routes that exist and still bypass the runner.
    assert sorted(allowed - bypassing) == []
    for name in RUNNER_BUILT_BY_ROUTE:  # the endpoint builds the runner
        codes = [getattr(call, "__code__", None) for call in routes[name]]
        assert any("use_case_and_actor" in code.co_names for code in codes if code), name


def test_the_read_only_posts_run_in_a_read_transaction(
    routes: dict[str, set[Callable[..., Any] | None]],
) -> None:
    assert {
        name: bool({read_uow, replica_read_uow} & routes[name]) for name in READS
    } == dict.fromkeys(READS, True)


def test_the_walk_sees_a_route_that_opens_its_own_transaction(tmp_path: Path) -> None:
    """The check can fail: a write route added with its own ``container.uow()`` is caught."""
    from omniretail.api.deps import ContainerDep

    def rogue(container: ContainerDep) -> None:
        with container.uow():
            pass

    for app in _app(tmp_path):
        app.post("/api/v1/rogue")(rogue)
        routes = write_routes(app)

    assert get_use_case not in routes["POST /api/v1/rogue"]
    assert get_use_case in routes["DELETE /api/v1/prices/{sku}/{channel}"]
