"""Oversized bodies are refused with a 413 problem before they are read, every text field has
a length limit, and out-of-range numbers and naive timestamps are the same 422 on SQLite and
PostgreSQL (the pen-test's 500s are here as regressions)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import func, select

from omniretail.app import create_app
from omniretail.bootstrap import Container
from omniretail.catalog.models import Location
from omniretail.loyalty.models import Entry
from tests.customers.helpers import make_customer
from tests.support.helpers import customer_bearer

API = "/api/v1"
MIB = 1024 * 1024
CHUNK = 64 * 1024


class StreamedBody:
    """An ASGI ``receive`` that hands out ``total`` bytes in 64 KiB chunks as they are asked
    for (never held in memory at once), counting what the server pulled."""

    def __init__(self, total: int) -> None:
        self.remaining = total
        self.pulled = 0
        self.chunk = b"x" * CHUNK

    async def __call__(self) -> dict[str, Any]:
        size = min(CHUNK, self.remaining)
        self.remaining -= size
        self.pulled += size
        return {"type": "http.request", "body": self.chunk[:size], "more_body": self.remaining > 0}


def send_raw(
    container: Container, method: str, path: str, body: StreamedBody, headers: list[Any]
) -> tuple[int, dict[str, str], bytes]:
    app = create_app(container, background_sweep=False)
    from tests.conftest import admin_api_key

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"application/json"),
            (b"x-api-key", admin_api_key(container).encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, body, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    names = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], names, content


def locations(container: Container) -> int:
    with container.read_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Location)) or 0)


def assert_too_large(status: int, headers: dict[str, str], content: bytes, limit: int) -> None:
    assert status == 413
    assert headers["content-type"].startswith("application/problem+json")
    problem = json.loads(content)
    assert problem["type"].endswith("/payload-too-large")
    assert problem["limit"] == limit


def test_a_declared_100_mb_body_is_refused_unread(container):
    body = StreamedBody(100 * MIB)
    status, headers, content = send_raw(
        container, "PUT", f"{API}/locations/X1", body, [(b"content-length", b"104857600")]
    )
    assert_too_large(status, headers, content, MIB)
    assert body.pulled == 0
    assert locations(container) == 0


def test_a_streamed_100_mb_body_is_refused_after_the_limit(container):
    body = StreamedBody(100 * MIB)
    status, headers, content = send_raw(container, "PUT", f"{API}/locations/X1", body, [])
    assert_too_large(status, headers, content, MIB)
    assert body.pulled <= MIB + CHUNK
    assert locations(container) == 0


def test_event_batches_have_a_larger_explicit_limit(container):
    body = StreamedBody(9 * MIB)
    status, headers, content = send_raw(container, "POST", f"{API}/events", body, [])
    assert_too_large(status, headers, content, 8 * MIB)
    assert body.pulled <= 8 * MIB + CHUNK


def test_a_two_mb_event_batch_is_read(container, client):
    customer = make_customer(container, "Ada")
    event = {
        "type": "page_view",
        "occurred_at": "2026-11-01T10:00:00Z",
        "customer_id": customer,
        "data": {"path": "/p/" + "a" * 1900},
    }
    payload = json.dumps({"events": [event] * 1000})
    assert MIB < len(payload) < 8 * MIB
    r = client.post(f"{API}/events", content=payload, headers={"content-type": "application/json"})
    assert r.status_code == 202, r.text


def test_a_long_address_line_is_a_422_and_nothing_is_stored(client, container):
    body = {
        "code": "X1",
        "name": "Shop",
        "kind": "store",
        "latitude": 51.5,
        "longitude": -0.1,
        "address": "a" * 10_000,
    }
    r = client.put(f"{API}/locations/X1", json=body)
    assert r.status_code == 422
    assert r.json()["field"] == "address"
    assert locations(container) == 0


def test_console_forms_are_limited_too(container):
    body = StreamedBody(2 * MIB)
    status, headers, content = send_raw(
        container, "POST", "/signin", body, [(b"content-length", str(2 * MIB).encode())]
    )
    assert_too_large(status, headers, content, MIB)


# --- the pen-test's 500s, on both databases ----------------------------------------------------


def entries(container: Container) -> int:
    with container.read_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Entry)) or 0)


def test_points_beyond_the_bounds_are_a_422_that_writes_nothing(container, client):
    customer = make_customer(container, "Ada")
    url = f"{API}/loyalty/customers/{customer}/adjustments"
    before = entries(container)
    for points in (-10_000_001, 10_000_001, 2**62, 2**63, -(2**64), 10**30):
        r = client.post(url, json={"points": points, "reason": "xyz"})
        assert r.status_code == 422, (points, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"] == "points"
    assert entries(container) == before


def test_the_largest_adjustment_is_accepted(container, client):
    container.settings.loyalty_goodwill_points_per_day = 100_000_000  # the daily limits aside
    container.settings.loyalty_goodwill_points_per_customer_per_day = 100_000_000
    customer = make_customer(container, "Ada")
    url = f"{API}/loyalty/customers/{customer}/adjustments"
    r = client.post(url, json={"points": 10_000_000, "reason": "goodwill"})
    assert r.status_code == 200, r.text
    r = client.post(url, json={"points": -10_000_000, "reason": "correction"})
    assert r.status_code == 200, r.text


def test_a_timestamp_without_a_time_zone_is_a_422(container, client):
    customer = make_customer(container, "Ada")
    url = f"{API}/customers/{customer}/timeline"
    r = client.get(url, params={"before": "2026-01-01T00:00:00"})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "before"
    assert "timezone" in r.json()["detail"]
    r = client.get(url, params={"before": "2026-01-01T00:00:00Z"})
    assert r.status_code == 200, r.text


def test_ids_beyond_the_column_are_a_422(container, client):
    for url in (
        f"{API}/customers/{2**63}",
        f"{API}/loyalty/customers/{2**63}",
        f"{API}/customers/0",
    ):
        r = client.get(url)
        assert r.status_code == 422, (url, r.text)
        assert r.json()["type"].endswith("/validation-error")


def test_a_deeply_nested_body_from_a_customer_is_a_400(container, client):
    """The scope check reads a customer's body before the route does: JSON nested deeper
    than ``json`` recurses was a RecursionError there (a 500), not the route's 400."""
    ada = make_customer(container, "Ada", email="ada@example.com", verified=True)
    headers = customer_bearer(container, client, ada, "ada@example.com")
    deep = b"[" * 100_000 + b"]" * 100_000
    for method, url in (("POST", f"{API}/events"), ("POST", f"{API}/carts/nope/refresh")):
        r = client.request(
            method, url, content=deep, headers={**headers, "Content-Type": "application/json"}
        )
        assert r.status_code in (400, 404), (url, r.status_code, r.text[:200])
        assert r.headers["content-type"] == "application/problem+json"
