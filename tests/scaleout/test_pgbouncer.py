"""Real work through PgBouncer in transaction pooling (``OMNIRETAIL_DB_PGBOUNCER=true``).

More client connections than PgBouncer has server connections, racing threads on one stock
row, checkouts over HTTP and two relays claiming the same outbox: no oversell, no prepared
statement or session-state error (any would fail a request or a delivery), and PostgreSQL
never sees more connections of the role than PgBouncer's pool."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from omniretail.app import create_app
from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import build_container
from omniretail.db.outbox import OutboxMessage
from omniretail.inventory import service as inventory
from omniretail.inventory.errors import OutOfStock
from omniretail.inventory.schemas import SaleCreate
from omniretail.messaging.models import Delivery
from tests.auth.test_principal_cache import ME, eventually, statements
from tests.concurrency.live_server import live_server
from tests.inventory.state import assert_verified, counters
from tests.orders.network import HOME, make_orders_network, receive
from tests.scaleout.conftest import POOL_SIZE, Pooled, pooled_settings
from tests.topology import free_port


@pytest.fixture(scope="module")
def shop(pooled: Pooled) -> Pooled:
    make_orders_network(pooled.container)
    return pooled


def parallel(workers: int, task: Any) -> list[Any]:
    barrier = threading.Barrier(workers)

    def start(i: int) -> Any:
        barrier.wait()
        return task(i)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(start, range(workers)))


def server_connections(pooled: Pooled, pg_url: str) -> int:
    """The role's connections as PostgreSQL counts them (the principal cache's LISTEN
    connection, which goes to PostgreSQL directly, left out)."""
    cache = pooled.container.principal_cache
    listening = cache.listener.backend_pid if cache is not None else None
    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return int(
                conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE usename = :r AND pid IS DISTINCT FROM :listening"
                    ),
                    {"r": pooled.role.name, "listening": listening},
                )
                or 0
            )
    finally:
        engine.dispose()


def pgbouncer_clients(pooled: Pooled) -> int:
    with psycopg.connect(
        pooled.bouncer.admin_url(pooled.role.name), autocommit=True, prepare_threshold=None
    ) as admin:
        rows = admin.execute("SHOW CLIENTS").fetchall()
    # user is the second column; the admin console's own connection is to "pgbouncer"
    return sum(1 for row in rows if row[1] == pooled.role.name and row[2] != "pgbouncer")


def test_migrations_go_to_postgresql_itself_not_through_pgbouncer(pooled, tmp_path):
    nowhere = f"postgresql+psycopg://{pooled.role.name}@127.0.0.1:{free_port()}/test"
    direct = build_container(pooled_settings(nowhere, pooled.role, tmp_path))
    try:
        direct.migrate()  # at head already: Alembic reads its version on PostgreSQL itself
    finally:
        direct.dispose()
    settings = pooled_settings(nowhere, pooled.role, tmp_path).model_copy(
        update={"database_direct_url": None}
    )
    through = build_container(settings)
    try:
        with pytest.raises(OperationalError):
            through.migrate()  # without the direct URL it would need the (absent) PgBouncer
    finally:
        through.dispose()


def test_more_clients_than_server_connections_race_for_stock_without_oversell(shop, pg_schema):
    container = shop.container
    receive(container, "B2", "LON1", 10)
    workers = 3 * POOL_SIZE

    def buy(i: int) -> str:
        data = SaleCreate(sku="B2", location="LON1", channel="WEB", quantity=1)
        try:
            # half the holds on the relaxed pool: SET LOCAL synchronous_commit per transaction
            with container.uow(durable=i % 2 == 0) as uow:
                hold = inventory.reserve_stock(uow, data, actor="buyer")
            with container.uow() as uow:
                inventory.sell_reservation(uow, hold.id, actor="buyer")
        except OutOfStock:
            return "out-of-stock"
        return "sold"

    outcomes = Counter(parallel(workers, buy))
    assert outcomes == {"sold": 10, "out-of-stock": workers - 10}
    level = counters(container, "B2", "LON1")
    assert level is not None
    assert level["on_hand"] == 0 and min(level.values()) >= 0
    assert_verified(container)

    # More client connections open at once than PgBouncer has server connections, each used.
    held = [container.read_engine.connect() for _ in range(POOL_SIZE + 5)]
    try:
        for conn in held:
            assert conn.scalar(text("SELECT 1")) == 1
        assert pgbouncer_clients(shop) >= POOL_SIZE + 5
        assert server_connections(shop, pg_schema[0]) <= POOL_SIZE
    finally:
        for conn in held:
            conn.close()


def test_checkouts_over_http_and_two_relays_through_pgbouncer(shop):
    container = shop.container
    receive(container, "A1", "DC1", 5)
    buyers = 12
    with live_server(container, lane_threads=buyers) as base_url:

        def buy(i: int) -> str:
            with httpx.Client(base_url=f"{base_url}/api/v1", timeout=60) as http:
                cart = http.post("/carts", json={"channel": "WEB"})
                assert cart.status_code == 201, cart.text
                token = cart.json()["token"]
                line = http.post(f"/carts/{token}/lines", json={"sku": "A1", "quantity": 1})
                if line.status_code == 409:
                    return "sold-out"
                assert line.status_code == 200, line.text
                placed = http.post(
                    f"/carts/{token}/checkout",
                    json={
                        "fulfilment": {
                            "method": "ship_to_home",
                            "latitude": HOME["lat"],
                            "longitude": HOME["lon"],
                        },
                        "payment": {"provider_token": "tok_visa"},
                        "contact_email": f"buyer{i}@example.com",
                    },
                    headers={"Idempotency-Key": f"pgbouncer-{token}"},
                )
                if placed.status_code == 409:
                    return "sold-out"
                assert placed.status_code == 201, placed.text
                return "ordered"

        outcomes = Counter(parallel(buyers, buy))
    assert outcomes == {"ordered": 5, "sold-out": buyers - 5}
    level = counters(container, "A1", "DC1")
    assert level is not None and level["on_hand"] == 5 and level["allocated"] == 5
    assert_verified(container)

    # Two relays share the outbox through PgBouncer (FOR UPDATE SKIP LOCKED claims).
    relays = [container.relay() for _ in range(2)]
    reports = parallel(2, lambda i: relays[i].run_until_idle())
    assert sum(r.delivered for r in reports) > 0
    assert sum(r.retried + r.dead for r in reports) == 0
    with container.read_uow() as uow:
        unpublished = uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None))
        )
        statuses = dict(
            uow.session.execute(
                select(Delivery.status, func.count()).group_by(Delivery.status)
            ).all()
        )
        repeated = uow.session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.attempts != 1)
        )
    assert unpublished == 0
    assert set(statuses) <= {"delivered", "skipped"}
    assert repeated == 0  # every delivery was attempted exactly once


def test_the_principal_cache_listens_on_postgresql_itself_behind_pgbouncer(shop):
    """PgBouncer cannot LISTEN in transaction pooling: the cache's listener connects to
    ``database_direct_url``; the triggers' notifications, sent in transactions through
    PgBouncer, reach it, so a revocation made through PgBouncer is refused at once."""
    container = shop.container
    cache = container.principal_cache
    assert cache is not None
    with TestClient(create_app(container, background_sweep=False)) as api:
        assert eventually(lambda: cache.serving), "the listener never came up"
        with container.uow() as uow:
            created = auth.create_principal(
                uow, PrincipalCreate(username="bouncer-ops", role=Role.MARKETER)
            )
            key = {"X-API-Key": auth.create_api_key(uow, created.id, "tests").key}
        first, second = api.get(ME, headers=key), api.get(ME, headers=key)
        assert (first.status_code, second.status_code) == (200, 200), first.text
        assert (statements(first), statements(second)) == (1, 0)
        with psycopg.connect(
            shop.bouncer.url(shop.role.name).replace("+psycopg", ""),
            autocommit=True,
            prepare_threshold=None,
        ) as through_pgbouncer:
            through_pgbouncer.execute(
                "UPDATE api_keys SET revoked_at = now() WHERE principal_id = %s", (created.id,)
            )
        assert eventually(lambda: api.get(ME, headers=key).status_code == 401)
    with psycopg.connect(shop.role.direct_url.replace("+psycopg", ""), autocommit=True) as direct:
        listening = direct.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE pid = %s AND (query LIKE 'LISTEN%%' OR query = 'SELECT 1')",
            (cache.listener.backend_pid,),
        ).fetchone()
    assert listening == (1,)
