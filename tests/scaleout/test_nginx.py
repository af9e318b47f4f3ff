"""Two API processes (``omniretail serve``, each with its own data folder) behind nginx on one
PostgreSQL: nginx spreads the requests over both, and what one node writes the other reads,
personal data included (both hold the same secret key, from the environment)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import TEST_SECRET_KEY, admin_api_key
from tests.topology import api_nodes, nginx


@pytest.mark.parametrize("backend", ["postgres"])
def test_two_api_processes_behind_nginx_share_the_requests_and_the_data(container):
    key = admin_api_key(container)
    env = {
        "OMNIRETAIL_DATABASE_URL": container.settings.resolved_database_url(),
        "OMNIRETAIL_DATABASE_SCHEMA": container.settings.database_schema or "",
        "OMNIRETAIL_SECRET_KEY": TEST_SECRET_KEY,
        "OMNIRETAIL_DB_POOL_SIZE": "4",
        "OMNIRETAIL_DB_PROCESSES": "2",
        "OMNIRETAIL_RELAY_ENABLED": "false",
        "OMNIRETAIL_JOBS_WORKER_ENABLED": "false",
    }
    headers = {"X-API-Key": key}
    with (
        api_nodes(2, env) as nodes,
        nginx(nodes.addresses, expose_upstream=True) as balancer,
        httpx.Client(base_url=f"{balancer.url}/api/v1", headers=headers, timeout=30) as lb,
    ):
        answered_by = [lb.get("/health").headers["x-upstream"] for _ in range(6)]
        assert set(answered_by) == set(nodes.addresses)

        # Personal data written (encrypted) on one node is read (decrypted) on the other.
        first, second = (
            httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=30)
            for url in nodes.urls
        )
        with first, second:
            created = first.post("/customers", json={"name": "Ada Lovelace"})
            assert created.status_code == 201, created.text
            customer_id = created.json()["customer"]["id"]
            read = second.get(f"/customers/{customer_id}")
            assert read.status_code == 200, read.text
            assert read.json()["name"] == "Ada Lovelace"

        # Through the balancer: a write answered by one node, read back by each.
        code = f"N{uuid.uuid4().hex[:6].upper()}"
        written = lb.put(
            f"/locations/{code}",
            json={
                "code": code,
                "name": "Scale-out store",
                "kind": "store",
                "latitude": 51.5,
                "longitude": -0.12,
            },
        )
        assert written.status_code == 200, written.text
        writer = written.headers["x-upstream"]
        reads = [lb.get(f"/locations/{code}") for _ in range(4)]
        assert all(r.status_code == 200 and r.json()["name"] == "Scale-out store" for r in reads)
        assert {r.headers["x-upstream"] for r in reads} - {writer}, "no read on the other node"
