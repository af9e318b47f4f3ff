"""Behavioural event ingestion and the customer 360 read on the real imported data.

    python benchmarks/events_ingest.py --db {postgres,sqlite} [--batches 40] [--reads 500]

Imports the shared transaction log into a fresh database (a new PostgreSQL schema, dropped
afterwards, or a temporary SQLite file), runs the loyalty backfill over it (timeline, points,
tiers for every real customer), signs in with an admin API key, then:

- posts ``--batches`` batches of 1,000 events (page/product views, add to cart, store visits;
  half for known customers with analytics consent, half anonymous) to ``POST /api/v1/events``
  from ``--clients`` threads, and reports events per second (bodies are JSON-encoded before
  the clock starts);
- reads ``GET /api/v1/customers/{id}/360`` for ``--reads`` random real customers and reports
  the latency percentiles.

Requests go through the whole ASGI app in process (FastAPI TestClient: routing, sign-in,
validation, the database), without a network hop. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from omniretail.app import create_app
from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import build_container
from omniretail.customers import repository as customer_repo
from omniretail.customers import service as customers
from omniretail.customers.schemas import ConsentWrite
from omniretail.history import service as history
from omniretail.loyalty import backfill
from omniretail.settings import Settings

DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail_ii_2009_2010.parquet"
)
PG_URL = os.environ.get("OMNIRETAIL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
KINDS = ["page_view", "product_view", "add_to_cart", "store_visit"]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("OMNIRETAIL_DATA", DATA)))
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--reads", type=int, default=500)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="omniretail-events-")
    schema = None
    if args.db == "postgres":
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = PG_URL
    else:
        url = f"sqlite:///{folder}/bench.db"
    settings = Settings(
        database_url=url, database_schema=schema, data_dir=Path(folder), db_pool_size=20
    )
    container = build_container(settings)
    try:
        container.migrate()
        started = time.perf_counter()
        with container.uow() as uow:
            history.import_history(uow, args.data, actor="bench")
        import_s = time.perf_counter() - started
        started = time.perf_counter()
        with container.uow() as uow:
            report = backfill.backfill_history(uow, actor="bench")
        backfill_s = time.perf_counter() - started
        with container.uow() as uow:
            ids = customer_repo.list_customer_ids(uow.session, limit=100_000)
            admin_id = auth.create_principal(
                uow, PrincipalCreate(username="bench-admin", role=Role.ADMIN, kind="system")
            ).id
            key = auth.create_api_key(uow, admin_id, "bench").key
        consenting = ids[: len(ids) // 2]
        with container.uow() as uow:
            for cid in consenting:
                customers.set_consent(
                    uow,
                    cid,
                    ConsentWrite(purpose="analytics", channel="all", granted=True),
                    actor="bench",
                )
        app = create_app(container, background_sweep=False)
        rng = random.Random(7)
        now = datetime.now(UTC)

        def batch(n: int) -> dict[str, object]:
            events = []
            for i in range(1000):
                event: dict[str, object] = {
                    "type": KINDS[i % 4],
                    "occurred_at": (now - timedelta(seconds=i)).isoformat(),
                    "channel": "WEB",
                    "data": {"sku": str(10000 + i % 500)},
                }
                if i % 2:
                    event["customer_id"] = rng.choice(consenting)
                else:
                    event["anonymous_id"] = f"anon-{n}-{i % 50}"
                events.append(event)
            return {"events": events}

        # Bodies are encoded before the clock starts: a real client encodes in its own
        # process, here it would hold the server's interpreter lock while it does.
        payloads = [json.dumps(batch(n)).encode() for n in range(args.batches)]
        json_body = {"content-type": "application/json"}
        with TestClient(app, headers={"X-API-Key": key}) as client:
            assert client.post("/api/v1/events", json=batch(-1)).status_code == 202  # warm-up

            def send(payload: bytes) -> int:
                r = client.post("/api/v1/events", content=payload, headers=json_body)
                assert r.status_code == 202, r.text
                return int(r.json()["accepted"])

            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                accepted = sum(pool.map(send, payloads))
            ingest_s = time.perf_counter() - started

            sample = rng.sample(ids, min(args.reads, len(ids)))
            for cid in sample[:20]:
                client.get(f"/api/v1/customers/{cid}/360")
            latencies = []
            for cid in sample:
                t0 = time.perf_counter()
                r = client.get(f"/api/v1/customers/{cid}/360")
                latencies.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
        result = {
            "db": args.db,
            "customers": len(ids),
            "import_s": round(import_s, 1),
            "backfill_s": round(backfill_s, 1),
            "points_earned": report.points_earned,
            "tiers": report.tiers,
            "events": accepted,
            "events_per_s": round(accepted / ingest_s),
            "reads": len(latencies),
            "p50_ms": round(statistics.median(latencies), 2),
            "p95_ms": round(percentile(latencies, 95), 2),
        }
        print(json.dumps(result))
    finally:
        container.dispose()
        if schema:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
