"""The per-process principal cache (``auth.principal_cache``, PostgreSQL): a known credential
needs no statement, yet a revocation made on another connection is refused within the
notification's delivery; a read racing a notification is not kept; with the listener down
every request reads the database. SQLite has no cache."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from omniretail.app import create_app
from omniretail.auth import api as auth_api
from omniretail.auth import service
from omniretail.auth.models import Role
from omniretail.auth.principal_cache import PrincipalCache
from omniretail.auth.schemas import PrincipalCreate
from omniretail.auth.security import AuthPrincipal
from omniretail.bootstrap import Container
from omniretail.db.budget import ServerLimits, plan_pools
from omniretail.db.notify import connector
from omniretail.settings import Settings

ME = "/api/v1/auth/me"


def statements(response: Any) -> int:
    found = re.search(r'sql;desc="(\d+)"', response.headers["server-timing"])
    assert found is not None
    return int(found.group(1))


def eventually(check: Callable[[], bool], within: float = 2.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


@pytest.fixture
def api(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, background_sweep=False)) as test_client:
        yield test_client


@pytest.fixture
def other(container: Container) -> Iterator[psycopg.Connection[Any]]:
    """Another connection (as another process would write): only the notification tells
    this process's cache."""
    if container.backend != "postgresql":
        pytest.skip("no principal cache on SQLite")
    with connector(container.engine, container.settings.database_schema)() as conn:
        yield conn


def cache_of(container: Container) -> PrincipalCache:
    cache = container.principal_cache
    assert cache is not None
    assert eventually(lambda: cache.serving), "the listener never came up"
    return cache


def person(container: Container, name: str = "alice") -> tuple[int, dict[str, str]]:
    with container.uow() as uow:
        created = service.create_principal(uow, PrincipalCreate(username=name, role=Role.MARKETER))
        key = service.create_api_key(uow, created.id, "tests").key
    token = auth_api.signer(container).issue(
        AuthPrincipal(id=created.id, role="marketer", name=name), container.clock.now()
    )
    return created.id, {"Authorization": f"Bearer {token}", "key": key}


def cached(api: TestClient, headers: dict[str, str]) -> None:
    """Two requests: the first reads the principal, the second none."""
    first = api.get(ME, headers=headers)
    assert first.status_code == 200, first.text
    assert statements(first) == 1
    second = api.get(ME, headers=headers)
    assert second.status_code == 200
    assert statements(second) == 0


def token_of(creds: dict[str, str]) -> dict[str, str]:
    return {"Authorization": creds["Authorization"]}


def key_of(creds: dict[str, str]) -> dict[str, str]:
    return {"X-API-Key": creds["key"]}


def test_sqlite_has_no_principal_cache(container: Container, api: TestClient, backend: str):
    if backend != "sqlite":
        pytest.skip("SQLite only")
    assert container.principal_cache is None
    _id, creds = person(container)
    for _ in range(2):
        assert statements(api.get(ME, headers=token_of(creds))) == 1


REVOCATIONS = {
    "disable": "UPDATE principals SET active = false WHERE id = %(id)s",
    "delete": "DELETE FROM api_keys WHERE principal_id = %(id)s;"
    " DELETE FROM principals WHERE id = %(id)s",
    "sign-out": "INSERT INTO revoked_tokens (token_id, principal_id, expires_at)"
    " VALUES (%(jti)s, %(id)s, now() + interval '1 hour')",
    "password": "UPDATE principals SET password_hash = 'x', token_version = token_version + 1"
    " WHERE id = %(id)s",
    "api-key": "UPDATE api_keys SET revoked_at = now() WHERE principal_id = %(id)s",
}


@pytest.mark.parametrize("revocation", list(REVOCATIONS))
def test_a_cached_principal_is_refused_once_another_connection_revokes_it(
    container: Container, api: TestClient, other: psycopg.Connection[Any], revocation: str
):
    cache_of(container)
    principal_id, creds = person(container)
    headers = key_of(creds) if revocation == "api-key" else token_of(creds)
    cached(api, headers)
    claimed = auth_api.signer(container).verify(creds["Authorization"][7:], container.clock.now())
    assert claimed is not None

    for statement in REVOCATIONS[revocation].split(";"):
        other.execute(statement, {"id": principal_id, "jti": claimed.token_id})

    assert eventually(lambda: api.get(ME, headers=headers).status_code == 401)


DISABLE_IN_ANOTHER_PROCESS = """
import sys
from omniretail.auth import service
from omniretail.auth.schemas import PrincipalUpdate
from omniretail.auth.security import AuthPrincipal
from omniretail.bootstrap import build_container
from omniretail.settings import Settings

container = build_container(Settings(database_url=sys.argv[1], database_schema=sys.argv[2]))
with container.uow() as uow:
    admin = AuthPrincipal(id=0, role="admin", name="ops")
    service.update_principal(uow, int(sys.argv[3]), PrincipalUpdate(active=False), acting=admin)
container.dispose()
"""


def test_a_principal_disabled_by_another_process_is_refused(
    container: Container, api: TestClient, other: psycopg.Connection[Any]
):
    cache_of(container)
    principal_id, creds = person(container)
    cached(api, token_of(creds))
    settings = container.settings
    args = [settings.resolved_database_url(), settings.database_schema or "", str(principal_id)]
    subprocess.run(
        [sys.executable, "-c", DISABLE_IN_ANOTHER_PROCESS, *args], check=True, env=os.environ
    )
    assert eventually(lambda: api.get(ME, headers=token_of(creds)).status_code == 401)


def test_a_read_that_races_a_notification_is_not_kept(
    container: Container,
    api: TestClient,
    other: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
):
    cache = cache_of(container)
    principal_id, creds = person(container)
    read = service.current_principal

    def read_then_disabled_elsewhere(uow: Any, claimed: AuthPrincipal) -> Any:
        answer = read(uow, claimed)  # still active
        before = cache.generation
        other.execute("UPDATE principals SET active = false WHERE id = %s", (principal_id,))
        assert eventually(lambda: cache.generation != before)
        return answer

    monkeypatch.setattr(service, "current_principal", read_then_disabled_elsewhere)
    assert api.get(ME, headers=token_of(creds)).status_code == 200  # answered, not kept
    assert len(cache) == 0
    monkeypatch.setattr(service, "current_principal", read)
    assert api.get(ME, headers=token_of(creds)).status_code == 401


def test_with_the_listener_down_every_request_reads_the_database(
    container: Container,
    api: TestClient,
    other: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
):
    cache = cache_of(container)
    principal_id, creds = person(container)
    cached(api, token_of(creds))
    listener = cache.listener

    def unreachable() -> Any:
        raise psycopg.OperationalError("the server is unreachable (test)")

    monkeypatch.setattr(listener, "_connect", unreachable)
    other.execute("SELECT pg_terminate_backend(%s)", (listener.backend_pid,))
    assert eventually(lambda: not cache.serving)
    # Nobody listens: no notification reaches this process.
    other.execute("UPDATE principals SET active = false WHERE id = %s", (principal_id,))
    before = container.counter.value  # a refusal has no Server-Timing (staff only)
    refused = api.get(ME, headers=token_of(creds))
    assert (refused.status_code, container.counter.value - before) == (401, 1)
    _bob, bob = person(container, "bob")
    for _ in range(2):
        assert statements(api.get(ME, headers=token_of(bob))) == 1  # nothing kept

    monkeypatch.undo()
    assert eventually(lambda: cache.serving)
    assert api.get(ME, headers=token_of(creds)).status_code == 401
    cached(api, token_of(bob))


def test_a_token_past_its_expiry_is_never_served_from_the_cache(
    container: Container, api: TestClient, other: psycopg.Connection[Any], clock: Any
):
    cache = cache_of(container)
    _id, creds = person(container)
    cached(api, token_of(creds))
    clock.advance(seconds=container.settings.access_token_ttl_seconds + 1)
    assert api.get(ME, headers=token_of(creds)).status_code == 401
    # Nor by the cache itself, asked directly.
    entry = next(iter(cache._entries.values()))
    assert entry[2].expires_at <= clock.now().timestamp()


def test_entries_age_out_and_the_cache_stays_bounded(
    container: Container, api: TestClient, other: psycopg.Connection[Any]
):
    cache = cache_of(container)
    _id, creds = person(container)
    cache.max_age = 0.0
    for _ in range(2):
        assert statements(api.get(ME, headers=token_of(creds))) == 1
    cache.max_age, cache.max_entries = 300.0, 1
    _bob, bob = person(container, "bob")
    _cara, cara = person(container, "cara")
    cached(api, token_of(bob))
    cached(api, key_of(cara))
    assert len(cache) == 1
    assert statements(api.get(ME, headers=token_of(bob))) == 1


def test_the_listener_is_in_the_connection_budget():
    limits = ServerLimits(max_connections=100, reserved=3)

    def plan(**settings: Any) -> Any:
        return plan_pools(Settings(**settings), limits, postgres=True)

    with_cache = plan(db_processes=5)
    assert (with_cache.listener, with_cache.total + with_cache.listener) == (1, 17)
    assert plan(db_processes=5, auth_cache_seconds=0).listener == 0
    assert plan(db_processes=5, db_pgbouncer=True).listener == 0
    # behind PgBouncer the listener goes to PostgreSQL itself: not out of PgBouncer's share
    behind = {"db_processes": 5, "db_pgbouncer": True, "db_max_connections": 20}
    bounced = plan_pools(Settings(**behind), None, postgres=True)
    direct = plan_pools(
        Settings(**behind, database_direct_url="postgresql://127.0.0.1/test"), None, postgres=True
    )
    assert (bounced.listener, direct.listener) == (0, 1)
    assert direct.total == bounced.total
    too_small = plan(db_processes=1, db_max_connections=2)
    assert (too_small.listener, too_small.total) == (0, 2)
