"""Idempotency-Key: a retried state change is applied once and answered the same way."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from omniretail.bootstrap import Container
from tests.concurrency.live_server import live_server
from tests.factories import make_network, receive
from tests.inventory.state import assert_verified, event_types_after, snapshot

API = "/api/v1/inventory"
SKU = "10001"
SALE = {"sku": SKU, "location": "LON1", "channel": "WEB", "quantity": 1}


@pytest.fixture
def stocked(container: Container) -> Container:
    make_network(container)
    receive(container, SKU, "LON1", 5)
    return container


def holds_and_reserved(container: Container) -> tuple[int, int]:
    state = snapshot(container)
    reserved = next(level for level in state["levels"] if level[1] == "LON1")[3]
    return state["holds"], reserved


def test_a_retry_is_applied_once_and_replays_status_and_body(stocked, client):
    first = client.post(f"{API}/reservations", json=SALE, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = client.post(f"{API}/reservations", json=SALE, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert again.json() == first.json()
    assert holds_and_reserved(stocked) == (1, 1)
    assert event_types_after(stocked).count("omniretail.inventory.reserved") == 1


def test_the_same_json_with_other_spacing_and_key_order_is_the_same_request(stocked, client):
    headers = {"Idempotency-Key": "k-2", "content-type": "application/json"}
    first = client.post(
        f"{API}/reservations",
        content=b'{"sku":"10001","location":"LON1","channel":"WEB","quantity":1}',
        headers=headers,
    )
    again = client.post(
        f"{API}/reservations",
        content=b'{ "quantity": 1, "channel": "WEB", "location": "LON1", "sku": "10001" }',
        headers=headers,
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


def test_a_sell_retry_replays_the_sale_instead_of_a_conflict(stocked, client):
    hold = client.post(f"{API}/reservations", json=SALE).json()
    url = f"{API}/reservations/{hold['id']}/sell"
    first = client.post(url, headers={"Idempotency-Key": "sell-1"})
    again = client.post(url, headers={"Idempotency-Key": "sell-1"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert client.get(f"{API}/stock/{SKU}/LON1").json()["on_hand"] == 4


def test_the_same_key_with_another_body_or_path_is_a_422_problem(stocked, client):
    client.post(f"{API}/reservations", json=SALE, headers={"Idempotency-Key": "k-3"})
    before = snapshot(stocked)
    for path, body in (
        ("/reservations", {**SALE, "quantity": 2}),
        ("/allocations", SALE),
    ):
        r = client.post(f"{API}{path}", json=body, headers={"Idempotency-Key": "k-3"})
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["type"] == "https://omniretail.dev/problems/idempotency-key-reused"
        assert problem["field"] == "Idempotency-Key"
        assert snapshot(stocked) == before


def test_a_refused_request_stores_no_key_so_a_later_retry_can_succeed(stocked, client):
    body = {**SALE, "quantity": 9}
    before = snapshot(stocked)
    r = client.post(f"{API}/reservations", json=body, headers={"Idempotency-Key": "k-4"})
    assert r.status_code == 409
    assert snapshot(stocked) == before  # neither the change nor the key
    receive(stocked, SKU, "LON1", 5)
    r = client.post(f"{API}/reservations", json=body, headers={"Idempotency-Key": "k-4"})
    assert r.status_code == 201


def test_an_empty_or_oversized_key_is_a_problem(stocked, client):
    before = snapshot(stocked)
    for key in ("", "k" * 201):
        r = client.post(f"{API}/reservations", json=SALE, headers={"Idempotency-Key": key})
        assert r.status_code == 422
        assert r.json()["field"] == "Idempotency-Key"
    assert snapshot(stocked) == before


def test_concurrent_requests_with_one_key_apply_once(container):
    """16 clients send the same reservation with the same key at once, for the last unit:
    one reservation is made and every client gets its 201 answer (none a 409)."""
    make_network(container)
    receive(container, SKU, "LON1", 1)
    workers = 16
    barrier = threading.Barrier(workers)
    with (
        live_server(container, lane_threads=workers) as base,
        httpx.Client(base_url=base, timeout=60) as http,
    ):

        def send(_: int) -> httpx.Response:
            barrier.wait()
            return http.post(f"{API}/reservations", json=SALE, headers={"Idempotency-Key": "k"})

        with ThreadPoolExecutor(workers) as pool:
            responses = list(pool.map(send, range(workers)))
    assert [r.status_code for r in responses] == [201] * workers
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    assert holds_and_reserved(container) == (1, 1)
    assert event_types_after(container).count("omniretail.inventory.reserved") == 1
    assert_verified(container)
