"""PostgreSQL behind PgBouncer in transaction pooling (``tests.topology.py``), for one module.

``pooled`` gives the module its own role and schema (the role's search_path: PgBouncer passes
no startup options), migrates them on PostgreSQL directly while PgBouncer is not even running
(``OMNIRETAIL_DATABASE_DIRECT_URL``), then starts PgBouncer with a server pool of
``POOL_SIZE`` and builds a container on it with ``OMNIRETAIL_DB_PGBOUNCER=true`` and more
client connections than that."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from omniretail.bootstrap import Container, build_container
from omniretail.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.topology import PgBouncer, Role, free_port, pgbouncer, postgres_role

POOL_SIZE = 10  # PgBouncer's server connections (default_pool_size)
CLIENTS = 40  # the container's client connections to PgBouncer


def pooled_settings(url: str, role: Role, data_dir: Path) -> Settings:
    return Settings(
        database_url=url,
        database_direct_url=role.direct_url,
        db_pgbouncer=True,
        db_max_connections=CLIENTS,
        db_pool_size=CLIENTS,
        data_dir=data_dir,
        secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class Pooled:
    role: Role
    bouncer: PgBouncer
    container: Container


@pytest.fixture(scope="module")
def pooled(
    pg_schema: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pooled]:
    url, _ = pg_schema  # the session's server (skipped, or failed under REQUIRE_PG, if absent)
    data_dir = tmp_path_factory.mktemp("pooled")
    with postgres_role(url) as role:
        # Nothing listens on this port: the migration can only have gone to PostgreSQL.
        nowhere = f"postgresql+psycopg://{role.name}@127.0.0.1:{free_port()}/test"
        migrating = build_container(pooled_settings(nowhere, role, data_dir))
        migrating.migrate()
        migrating.dispose()
        with pgbouncer(role.direct_url, [role.name], pool_size=POOL_SIZE) as bouncer:
            container = build_container(pooled_settings(bouncer.url(role.name), role, data_dir))
            try:
                yield Pooled(role, bouncer, container)
            finally:
                container.dispose()
